package web_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ledongthuc/pdf"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/web"
	"github.com/linepulse/linepulse/web/ui/i18n"
)

// readPDF reads a PDF as a viewer does: the trailer and cross-reference table, the page
// tree, each page's content streams and fonts; it returns the text the pages show, a line
// per text object, decoded from the fonts' encodings (the core fonts' Windows-1252 reads
// back as UTF-8). A PDF that does not parse, a page missing from the tree or a content
// stream that does not decode is an error.
func readPDF(doc []byte) (text string, err error) {
	defer func() { // the reader panics on some malformed objects
		if r := recover(); r != nil {
			text, err = "", fmt.Errorf("malformed PDF: %v", r)
		}
	}()
	r, err := pdf.NewReader(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		return "", err
	}
	n := r.NumPage()
	if n < 1 {
		return "", errors.New("a PDF without pages")
	}
	var b strings.Builder
	fonts := map[string]*pdf.Font{}
	for i := 1; i <= n; i++ {
		p := r.Page(i)
		if p.V.IsNull() {
			return "", fmt.Errorf("page %d of %d is not in the page tree", i, n)
		}
		for _, name := range p.Fonts() {
			if _, ok := fonts[name]; !ok {
				f := p.Font(name)
				fonts[name] = &f
			}
		}
		s, err := p.GetPlainText(fonts)
		if err != nil {
			return "", fmt.Errorf("page %d: %w", i, err)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// pdfTexts is readPDF's text; the test fails at once on a PDF that does not open.
func pdfTexts(t testing.TB, doc []byte) string {
	t.Helper()
	text, err := readPDF(doc)
	if err != nil {
		t.Fatalf("the PDF does not open: %v", err)
	}
	return text
}

// TestReadPDFRejectsBrokenPDF: the reader behind pdfTexts opens a report the server
// renders and reads its text, and fails on the same bytes truncated (with or without an
// end-of-file marker put back), with a damaged content stream or with an object that is
// not where the cross-reference table says.
func TestReadPDFRejectsBrokenPDF(t *testing.T) {
	cat, err := i18n.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	rep := web.PlantReport{Tenant: "Acme Ñandú", Zone: "UTC", Period: "day", Date: "2026-12-02"}
	if err := web.PlantPDF(&w, cat, "es", time.UTC, now, rep); err != nil {
		t.Fatal(err)
	}
	doc := w.Bytes()
	text, err := readPDF(doc)
	if err != nil || !strings.Contains(text, "Informe de planta: Acme Ñandú") || !strings.Contains(text, "OEE "+dash) {
		t.Fatalf("the intact PDF: %v\n%s", err, text)
	}

	stream := bytes.Index(doc, []byte("stream\n")) + len("stream\n")
	damaged := bytes.Clone(doc)
	for i := stream + 8; i < stream+16; i++ {
		damaged[i] ^= 0xff
	}
	entry := bytes.Index(doc, []byte(" 65535 f \n")) + len(" 65535 f \n") // object 1's in the cross-reference table
	wrongOffset := bytes.Clone(doc)
	copy(wrongOffset[entry:], "0000000009")
	for name, b := range map[string][]byte{
		"empty":                    nil,
		"truncated in half":        doc[:len(doc)/2],
		"without its last bytes":   doc[:len(doc)-7],
		"truncated, %%EOF back":    slices.Concat(doc[:len(doc)/2], []byte("\n%%EOF\n")),
		"a damaged stream":         damaged,
		"an object's wrong offset": wrongOffset,
	} {
		text, err := readPDF(b)
		if err == nil {
			t.Errorf("%s: read without error:\n%s", name, text)
		}
		t.Logf("%s: %v", name, err)
	}
}

// dash is "—" as readPDF reads it back (the core fonts write it as Windows-1252 0x97).
const dash = "—"

// zeroPercent is an indicator of 0.0 %.
var zeroPercent = regexp.MustCompile(`(^|\s)0\.0 %`)

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

		text := pdfTexts(t, ev.must(http.StatusOK, req{method: "GET", path: base + ".pdf", token: viewer}, nil).body)
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

		plant := pdfTexts(t, ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/reports/plant.pdf?date=2026-12-01", token: viewer}, nil).body)
		if n := strings.Count(plant, "OEE "+dash); n != 3 || zeroPercent.MatchString(plant) { // the plant, the line, its shift
			t.Errorf("plant PDF shows %d unknown OEEs:\n%s", n, plant)
		}
		if monitored := pdfTexts(t, ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/reports/plant.pdf?date=2026-12-02", token: viewer}, nil).body); strings.Contains(monitored, dash) {
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
