package web_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/linepulse/linepulse/detection"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/web"
)

// fakeDeadLetters answers with three dead letters of the tenant asked for.
type fakeDeadLetters struct{}

func (fakeDeadLetters) DeadLetters(_ context.Context, slug string, limit int) ([]detection.DeadLetter, error) {
	var out []detection.DeadLetter
	for i := range min(limit, 3) {
		out = append(out, detection.DeadLetter{Subject: "lp." + slug + ".line.1.det", Reason: detection.ReasonTooOld,
			Detail: "every detection refused", Index: -1, Raw: "[]", At: time.Unix(int64(1000-i), 0).UTC()})
	}
	return out, nil
}

func TestDeadLetters(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		var got web.DeadLetterList
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/dead-letters?limit=2", token: ev.token("beta", store.RoleTenantAdmin)}, &got)
		if len(got.Items) != 2 || got.Items[0].Subject != "lp.beta.line.1.det" || got.Items[0].Reason != detection.ReasonTooOld {
			t.Fatalf("beta's dead letters: %+v", got)
		}
		ev.must(http.StatusForbidden, req{method: "GET", path: "/api/v1/dead-letters", token: ev.token("acme", store.RoleOperator)}, nil)
		ev.must(http.StatusBadRequest, req{method: "GET", path: "/api/v1/dead-letters?limit=0", token: ev.token("acme", store.RoleTenantAdmin)}, nil)
		ev.must(http.StatusBadRequest, req{method: "GET", path: "/api/v1/dead-letters?limit=1001", token: ev.token("acme", store.RoleTenantAdmin)}, nil)
	})
}
