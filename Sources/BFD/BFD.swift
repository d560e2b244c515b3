/// BFD (RFC 5880/5881): filled in by the BFD work.
public enum BFD {}
