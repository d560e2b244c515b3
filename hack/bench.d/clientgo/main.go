// The client-go peer of `hack/bench kube`: the same workloads as metallb-bench's informer-sync
// and watch-lag, with a client-go shared informer. hack/bench builds it inside the Kubernetes
// v1.20.2 source tree that hack/setup fetched (same vendor tree as the API server).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig file")
	namespace := flag.String("namespace", "", "namespace")
	mode := flag.String("mode", "sync", "sync or lag")
	expect := flag.Int("expect", 5000, "update events to wait for (lag mode)")
	flag.Parse()

	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cfg.QPS, cfg.Burst = 100000, 100000
	cs := kubernetes.NewForConfigOrDie(cfg)

	var mu sync.Mutex
	var lags []float64
	var first, last time.Time
	start := time.Now()
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(*namespace))
	inf := factory.Core().V1().ConfigMaps().Informer()
	inf.AddEventHandler(cache.ResourceEventHandlerFuncs{UpdateFunc: func(_, obj interface{}) {
		cm := obj.(*v1.ConfigMap)
		ts, _ := strconv.ParseInt(cm.Data["ts"], 10, 64)
		if ts <= 0 {
			return
		}
		now := time.Now()
		mu.Lock()
		lags = append(lags, float64(now.UnixNano()-ts)/1e6)
		if first.IsZero() {
			first = now
		}
		last = now
		mu.Unlock()
	}})
	stop := make(chan struct{})
	go inf.Run(stop)
	cache.WaitForCacheSync(stop, inf.HasSynced)
	synced := time.Since(start)
	out := json.NewEncoder(os.Stdout)
	if *mode == "sync" {
		out.Encode(map[string]interface{}{"objects": len(inf.GetStore().ListKeys()), "synced_ms": float64(synced.Microseconds()) / 1000})
		return
	}
	fmt.Fprintln(os.Stderr, "synced")
	deadline := time.Now().Add(300 * time.Second)
	for {
		mu.Lock()
		n := len(lags)
		mu.Unlock()
		if n >= *expect || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	sort.Float64s(lags)
	pct := func(q float64) float64 {
		if len(lags) == 0 {
			return 0
		}
		i := int(float64(len(lags)) * q)
		if i >= len(lags) {
			i = len(lags) - 1
		}
		return lags[i]
	}
	rate := 0.0
	if span := last.Sub(first).Seconds(); span > 0 {
		rate = float64(len(lags)) / span
	}
	max := 0.0
	if len(lags) > 0 {
		max = lags[len(lags)-1]
	}
	out.Encode(map[string]interface{}{"events": len(lags), "events_per_s": rate, "lag_p50_ms": pct(0.5), "lag_p99_ms": pct(0.99), "lag_max_ms": max})
}
