// go-app: a small HTTP server on the Go standard library only.
//
//	go-app            serve on :8080 (or on $PORT when set)
//	go-app -version   print the version and platform, then exit
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

// version can be set at build time: go build -ldflags="-X main.version=1.2.3".
var version = "dev"

func greeting() string {
	return fmt.Sprintf("Hello from Go in Docker! (%s/%s)", runtime.GOOS, runtime.GOARCH)
}

func newMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, greeting())
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	return mux
}

func main() {
	defaultAddr := ":8080"
	if port := os.Getenv("PORT"); port != "" {
		defaultAddr = ":" + port
	}
	showVersion := flag.Bool("version", false, "print the version and platform, then exit")
	addr := flag.String("addr", defaultAddr, "the address to listen on")
	flag.Parse()

	if *showVersion {
		fmt.Printf("go-app %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return
	}

	server := &http.Server{Addr: *addr, Handler: newMux(), ReadHeaderTimeout: 5 * time.Second}

	// As PID 1 in a container the process gets SIGTERM on `docker stop`: shut down cleanly.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		log.Println("signal received, shutting down")
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(shutdown)
	}()

	log.Printf("go-app %s listening on %s (%s/%s)", version, *addr, runtime.GOOS, runtime.GOARCH)
	if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
