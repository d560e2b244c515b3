# The metallb image (one image for every role: controller, speaker, ...) for users who build
# with Docker. Same content as `hack/image metallb`, which builds it here without a Docker
# engine: the binary at /metallb plus exactly the shared libraries ldd lists for it.
#
#   docker build -t swift-metallb.local/metallb:dev .
#   docker run --rm swift-metallb.local/metallb:dev version
ARG SWIFT_IMAGE=swift:6.3-bookworm

FROM ${SWIFT_IMAGE} AS build
WORKDIR /src
COPY Package.swift Package.resolved* ./
COPY Sources ./Sources
# SwiftPM checks every target of the manifest, test targets included.
COPY Tests ./Tests
RUN swift build -c release --product metallb
# Root filesystem: the binary and every library the dynamic loader resolves for it, at the
# same paths (the binary's RUNPATH names the toolchain's library directory).
RUN set -eu; mkdir -p /rootfs/tmp; chmod 1777 /rootfs/tmp; \
    bin=$(swift build -c release --show-bin-path)/metallb; \
    cp "$bin" /rootfs/metallb; \
    for lib in $(ldd "$bin" | awk '/=> \//{print $3} /^\t\/[^ ]+ \(/{print $1}'); do \
      mkdir -p "/rootfs$(dirname "$lib")"; cp -L "$lib" "/rootfs$lib"; \
    done; \
    ! ldd "$bin" | grep -q 'not found'

FROM scratch
COPY --from=build /rootfs/ /
ENTRYPOINT ["/metallb"]
