package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/web"
)

// testPassword is the password of the users apiSite creates.
const testPassword = "a long password"

// apiSite serves the real API (deps over deps.Store) and the UI on one test server, after
// creating users (active, password testPassword).
func apiSite(t *testing.T, deps web.Deps, users ...store.User) *httptest.Server {
	t.Helper()
	params := identity.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 16, SaltLen: 8}
	hash, err := identity.HashPassword(testPassword, params)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		u.PasswordHash, u.Active = hash, true
		if err := deps.Store.CreateUser(context.Background(), &u); err != nil {
			t.Fatal(err)
		}
	}
	kr := identity.NewKeyring()
	kid, priv := identity.GenerateKey()
	if err := kr.Add(kid, priv); err != nil {
		t.Fatal(err)
	}
	api, err := web.NewAPI(web.APIConfig{Keyring: kr, Hasher: identity.Hasher{Params: params}, RequestRate: 1e6, RequestBurst: 1e6}, deps)
	if err != nil {
		t.Fatal(err)
	}
	u, err := New(Config{Viewers: api})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(web.APIPrefix, api)
	mux.Handle("/", u.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// login signs a user of apiSite in and returns the access token.
func login(t *testing.T, srv *httptest.Server, tenant, email string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"tenant": tenant, "email": email, "password": testPassword})
	resp, err := http.Post(srv.URL+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok web.TokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("login: %v %+v", err, tok)
	}
	return tok.AccessToken
}
