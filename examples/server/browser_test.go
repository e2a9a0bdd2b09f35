package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

var screenshotDir = flag.String("screenshots", "", "also write the browser test's screenshots to this `directory`")

// newBrowser starts a headless chromium with a fresh profile, and returns a
// context for one tab of it. It skips the test when chromium is absent,
// except under CI=true, where that is a failure.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and no browser at %s (.ci/chromium.sh installs it): %v", chromiumPath, err)
		}
		t.Skipf("no browser at %s (apt-get install chromium): %v", chromiumPath, err)
	}
	alloc, cancel := chromedp.NewExecAllocator(t.Context(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true), // chromium runs as root in CI
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// saveScreenshot writes png to name under the test's temporary directory,
// and under -screenshots if given, and logs where.
func saveScreenshot(t *testing.T, dir, name string, png []byte) {
	t.Helper()
	for _, d := range []string{dir, *screenshotDir} {
		if d == "" {
			continue
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(d, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s (%d bytes)", p, len(png))
	}
}

// The parts of Swagger UI the test works with.
const (
	authorizeButton = `.auth-wrapper button.authorize`
	usernameInput   = `#oauth_username`
	passwordInput   = `#oauth_password`
	applyButton     = `button[aria-label="Apply given OAuth2 credentials"]`
	logoutButton    = `button[aria-label="Remove authorization"]`
	closeButton     = `.modal-ux button.btn-done`
	dialog          = `.modal-ux`
)

// TestDocsInBrowser drives Swagger UI at /docs in a real browser: the
// Authorize button logs in with the password flow, "Try it out" sends the
// token, and the page runs under its Content-Security-Policy without a
// violation and without a request to any other origin.
func TestDocsInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	ctx := newBrowser(t)
	_, srv := newDocsServer(t, testConfig(t))
	shots := t.TempDir()
	start := time.Now()

	// Every request the page makes, and every CSP violation it reports.
	var mu sync.Mutex
	var requests []string
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requests = append(requests, e.Request.URL)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("start the browser: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	_, err = chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", e => window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI));`,
	})
	if err != nil {
		t.Fatal(err)
	}

	// authorize logs in through the open dialog and leaves it open.
	authorize := func(username, password string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.WaitVisible(usernameInput),
			chromedp.SendKeys(usernameInput, username),
			chromedp.SendKeys(passwordInput, password),
			chromedp.Click(applyButton),
		)
	}
	// execute runs "Try it out" on the operation with the DOM id op and
	// returns the status and the body that Swagger UI shows.
	execute := func(t *testing.T, op string) (status, body, headers string) {
		t.Helper()
		sel := "#" + op
		err := chromedp.Do(ctx,
			chromedp.Click(sel+" .opblock-summary-control"),
			chromedp.Click(sel+" button.try-out__btn"),
			chromedp.Click(sel+" button.execute"),
			chromedp.WaitVisible(sel+" .live-responses-table .response-col_status"),
		)
		if err != nil {
			t.Fatalf("execute %s: %v", op, err)
		}
		row := sel + " .live-responses-table tbody tr.response"
		status, err = chromedp.Run(ctx, chromedp.Text(row+" .response-col_status"))
		if err != nil {
			t.Fatal(err)
		}
		body, err = chromedp.Run(ctx, chromedp.Text(row+" .response-col_description .microlight"))
		if err != nil {
			t.Fatal(err)
		}
		headers, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(`+strconv.Quote(row)+`).innerText`))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(status), body, headers
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/docs"), chromedp.WaitVisible(authorizeButton)); err != nil {
		t.Fatalf("open /docs: %v", err)
	}

	t.Run("alice reads /api/me", func(t *testing.T) {
		err := chromedp.Do(ctx, chromedp.Click(authorizeButton), authorize(alice, demoPassword(t, alice)), chromedp.WaitVisible(logoutButton))
		if err != nil {
			t.Fatalf("authorize as alice: %v", err)
		}
		png, err := chromedp.Run(ctx, chromedp.Screenshot(dialog))
		if err != nil {
			t.Fatal(err)
		}
		saveScreenshot(t, shots, "authorize-dialog.png", png)
		if err := chromedp.Do(ctx, chromedp.Click(closeButton), chromedp.WaitNotPresent(dialog)); err != nil {
			t.Fatal(err)
		}
		status, body, _ := execute(t, "operations-api-me")
		if status != "200" || !strings.Contains(body, `"email": "alice@example.com"`) {
			t.Errorf("GET /api/me as alice: status %q, body %s; want 200 with alice", status, body)
		}
		png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		saveScreenshot(t, shots, "authorized-page.png", png)
	})

	t.Run("bob is refused /api/admin/users", func(t *testing.T) {
		err := chromedp.Do(ctx,
			chromedp.Click(authorizeButton),
			chromedp.Click(logoutButton),
			authorize(bob, demoPassword(t, bob)),
			chromedp.WaitVisible(logoutButton),
			chromedp.Click(closeButton),
			chromedp.WaitNotPresent(dialog),
		)
		if err != nil {
			t.Fatalf("authorize as bob: %v", err)
		}
		status, body, headers := execute(t, "operations-admin-listUsers")
		if status != "403" || !strings.Contains(body, `"error": "insufficient_scope"`) {
			t.Errorf("GET /api/admin/users as bob: status %q, body %s; want 403 insufficient_scope", status, body)
		}
		if !strings.Contains(headers, `error="insufficient_scope"`) {
			t.Errorf("GET /api/admin/users as bob: headers %s; want a Bearer challenge with error=\"insufficient_scope\"", headers)
		}
	})

	t.Run("a wrong password shows invalid_grant", func(t *testing.T) {
		err := chromedp.Do(ctx,
			chromedp.Click(authorizeButton),
			chromedp.Click(logoutButton),
			authorize(alice, "not-"+demoPassword(t, alice)),
		)
		if err == nil {
			_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector(".modal-ux").innerText.includes("invalid_grant")`))
		}
		if err != nil {
			text, _ := chromedp.Run(ctx, chromedp.Text(dialog))
			t.Fatalf("wrong password: %v; the dialog says %q", err, text)
		}
		if n, err := chromedp.Run(ctx, chromedp.Nodes(logoutButton, chromedp.AtLeast(0))); err != nil || len(n) != 0 {
			t.Errorf("wrong password: the dialog offers Logout (%d buttons, %v), want not authorized", len(n), err)
		}
	})

	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__cspViolations`))
	if err != nil {
		t.Fatal(err)
	}
	if len(violations) > 0 {
		t.Errorf("Content-Security-Policy violations: %q", violations)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, u := range requests {
		if !strings.HasPrefix(u, srv.URL+"/") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the page requested %s, outside %s", u, srv.URL)
		}
	}
	t.Logf("browser session: %v, %d requests", time.Since(start).Round(time.Millisecond), len(requests))
}
