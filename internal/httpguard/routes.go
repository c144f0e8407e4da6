package httpguard

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/hindsightdev/hindsight/internal/httpjson"
)

// probedMethods are those tried on a path mux does not serve with the request's
// method, to tell a 405 (the path is served with another) from a 404.
var probedMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// jsonRoutes serves mux, answering in JSON what mux would answer with net/http's
// plain-text pages, as the live daemon's API answers them: a path it does not serve is
// 404, a path it serves with other methods is 405 naming them in Allow.
func jsonRoutes(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A pattern, even a redirect's (to the path with its slash), is mux's to serve.
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		var allow []string
		for _, m := range probedMethods {
			probe := r.WithContext(r.Context()) // a shallow copy, for its method
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "" {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			httpjson.Error(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s on this server", r.URL.Path))
			return
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		httpjson.Error(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s takes %s, not %s", r.URL.Path, strings.Join(allow, ", "), r.Method))
	})
}
