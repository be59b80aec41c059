// shopd: a small web shop whose handlers have bugs, reached through different compositions of
// middleware. The driver runs it in several builds and deployments; each recorded error is one
// JSON line on stdout.
package main

import (
	"flag"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"

	"example.com/shopd/cart"
	"example.com/shopd/checkout"
	"example.com/shopd/middleware"
	"example.com/shopd/pricing"
	"example.com/shopd/store"
	"example.com/shopd/telemetry"
	"example.com/shopd/tree"
	"example.com/shopd/users"
)

func cartHandler(w http.ResponseWriter, r *http.Request) {
	c := cart.Load(r.Header.Get("X-User"))
	c.AddItem(r.URL.Query().Get("sku"), 1)
}

func quoteHandler(w http.ResponseWriter, r *http.Request) {
	tier, _ := strconv.Atoi(r.URL.Query().Get("tier"))
	pricing.Quote([]int{100, 250}, tier)
}

func greetHandler(w http.ResponseWriter, r *http.Request) {
	u := users.Lookup(r.URL.Query().Get("id"))
	w.Write([]byte(users.Greeting(u)))
}

func categoriesHandler(w http.ResponseWriter, r *http.Request) {
	d, _ := strconv.Atoi(r.URL.Query().Get("depth"))
	tree.Walk(tree.Build(d), "")
}

func orderHandler(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.URL.Query().Get("order"))
	if err := store.Save(n, r.URL.Query().Get("cause")); err != nil {
		telemetry.RecordError(err)
		w.WriteHeader(http.StatusInternalServerError)
	}
}

func checkoutHandler(w http.ResponseWriter, r *http.Request) {
	if err := checkout.Validate(nil); err != nil {
		telemetry.RecordError(err)
		w.WriteHeader(http.StatusBadRequest)
	}
}

var handlers = map[string]http.HandlerFunc{
	"cart": cartHandler, "quote": quoteHandler, "greet": greetHandler,
	"categories": categoriesHandler, "order": orderHandler, "checkout": checkoutHandler,
}

// compose wraps h as the deployment does: named middleware, anonymous closures, or a router.
func compose(chain string, h http.Handler) http.Handler {
	switch chain {
	case "named":
		return middleware.Recover(middleware.Logging(middleware.Auth(h)))
	case "anon":
		timing := func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				next.ServeHTTP(w, r)
			})
		}
		return middleware.Recover(timing(h))
	default: // "router": a sub-router under a prefix
		mux := http.NewServeMux()
		mux.Handle("/", middleware.Auth(h))
		return middleware.Recover(http.StripPrefix("", mux))
	}
}

func main() {
	chain := flag.String("chain", "named", "named | anon | router")
	flag.Parse()
	mux := http.NewServeMux()
	for name, h := range handlers {
		if *chain == "inline" {
			// Closures written in main itself (main.main.funcN frames).
			h := h
			mux.Handle("/"+name, middleware.Recover(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Request-Id", r.URL.RawQuery)
				h(w, r)
			})))
			continue
		}
		mux.Handle("/"+name, compose(*chain, h))
	}
	// A real server: handlers run on its connection goroutines, as in production.
	srv := httptest.NewServer(mux)
	defer srv.Close()
	// Each argument: bug=path?query, e.g. g-cart=/cart?sku=a1
	for _, arg := range flag.Args() {
		bug, target, _ := strings.Cut(arg, "=")
		telemetry.Bug = bug
		resp, err := http.Get(srv.URL + target)
		if err == nil {
			resp.Body.Close()
		}
	}
}
