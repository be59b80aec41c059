//go:build extra

package main

import (
	"net/http"

	"example.com/shopd/telemetry"
)

// The "extra" build serves one more route and logs each request's id (every offset moves).
func init() {
	handlers["ping"] = func(w http.ResponseWriter, r *http.Request) {
		telemetry.Bug = "ping"
		w.Write([]byte("pong"))
	}
}
