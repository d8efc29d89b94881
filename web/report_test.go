package web_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

var (
	pdfStream = regexp.MustCompile(`(?s)stream\r?\n(.*?)\r?\nendstream`)
	pdfText   = regexp.MustCompile(`\(((?:\\.|[^\\)])*)\)\s*Tj`)
)

// pdfTexts extracts the text shown by the Tj operators of a PDF's content streams
// (compressed or not): enough to read back what a simple generated PDF says.
func pdfTexts(pdf []byte) string {
	var out []string
	for _, m := range pdfStream.FindAllSubmatch(pdf, -1) {
		body := m[1]
		if zr, err := zlib.NewReader(bytes.NewReader(body)); err == nil {
			if b, err := io.ReadAll(zr); err == nil {
				body = b
			}
		}
		for _, t := range pdfText.FindAllSubmatch(body, -1) {
			s := strings.NewReplacer(`\(`, "(", `\)`, ")", `\\`, `\`).Replace(string(t[1]))
			out = append(out, s)
		}
	}
	return strings.Join(out, "\n")
}

// dash is "—" as the PDF core fonts write it (Windows-1252), as pdfTexts reads it back;
// zeroPercent an indicator of 0.0 %.
var (
	dash        = "\x97"
	zeroPercent = regexp.MustCompile(`(^|\s)0\.0 %`)
)

// TestReportsWithoutData: a shift instance and a day without data have no monitored time,
// so their A, P, Q and OEE are unknown: the PDFs and the mail say "—" where the pages do,
// the CSV leaves the cells empty; none says 0.0 %. The monitored day beside it keeps its
// figures.
func TestReportsWithoutData(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		f, _, _ := ev.shiftDay() // data on 2026-12-02 only
		viewer := ev.token("acme", "viewer")
		empty := "2026-12-01." + itoa(f.ids["shifts"])
		base := "/api/v1/lines/" + itoa(f.line) + "/shifts/" + empty + "/report"

		text := pdfTexts(ev.must(http.StatusOK, req{method: "GET", path: base + ".pdf", token: viewer}, nil).body)
		for _, kpi := range []string{"OEE", "Availability", "Performance", "Quality"} {
			if !strings.Contains(text, kpi+"\n"+dash+"\n") {
				t.Errorf("shift PDF: %s is not —", kpi)
			}
		}
		if zeroPercent.MatchString(text) {
			t.Errorf("shift PDF says 0.0 %%:\n%s", text)
		}

		for _, r := range ev.csv(base+".csv", viewer) {
			if len(r) == 2 && slices.Contains([]string{"oee", "availability", "performance", "quality"}, r[0]) && r[1] != "" {
				t.Errorf("report.csv: %s = %q, want empty", r[0], r[1])
			}
		}

		// The shift list's CSV: the empty day's shift has empty A, P, Q and OEE cells.
		list := ev.csv("/api/v1/lines/"+itoa(f.line)+"/shifts.csv?from=2026-12-01T00:00:00Z&to=2026-12-01T23:00:00Z", viewer)
		for _, r := range list[1:] {
			if r[0] == empty && (r[11] != "" || r[12] != "" || r[13] != "" || r[14] != "") {
				t.Errorf("shifts.csv: %q, want empty availability..oee", r)
			}
		}

		plant := pdfTexts(ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/reports/plant.pdf?date=2026-12-01", token: viewer}, nil).body)
		if n := strings.Count(plant, "OEE "+dash); n != 3 || zeroPercent.MatchString(plant) { // the plant, the line, its shift
			t.Errorf("plant PDF shows %d unknown OEEs:\n%s", n, plant)
		}
		if monitored := pdfTexts(ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/reports/plant.pdf?date=2026-12-02", token: viewer}, nil).body); strings.Contains(monitored, dash) {
			t.Errorf("a day with data shows —:\n%s", monitored)
		}

		for kind, d := range map[string]store.ReportDelivery{store.ReportShiftEnd: {LineID: f.line, Subject: empty}, store.ReportDaily: {Subject: "2026-12-01"}} {
			m, err := ev.api.RenderScheduledReport(context.Background(), ev.acme.ID, store.ReportSchedule{Kind: kind, Language: "en"}, d)
			if err != nil || !strings.Contains(m.Text, "OEE: —") {
				t.Errorf("%s mail %q %v", kind, m.Text, err)
			}
		}
	})
}
