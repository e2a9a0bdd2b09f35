package swaggerui_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/authkit-go/authkit/oauth2pw/openapi/swaggerui"
)

func ExampleNew() {
	docs, err := swaggerui.New(swaggerui.Config{SpecURL: "/openapi.json"})
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("GET /docs/", http.StripPrefix("/docs", docs))

	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/docs/", nil))
	fmt.Println(w.Code, w.Header().Get("Content-Type"))
	fmt.Println(w.Header().Get("Content-Security-Policy") == swaggerui.ContentSecurityPolicy)
	// Output:
	// 200 text/html; charset=utf-8
	// true
}
