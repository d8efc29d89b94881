package web_test

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"image"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/web"
)

const hostileSVG = `<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:ink="urn:inkscape" viewBox="0 0 800 450" onload="alert(1)">
  <script>alert(2)</script><style>rect{fill:url(javascript:alert(3))}</style>
  <foreignObject><div xmlns="http://www.w3.org/1999/xhtml" onclick="x()">hi</div></foreignObject>
  <a href="javascript:alert(4)"><rect width="5" height="5"/></a>
  <ink:layer><rect width="1" height="1"/></ink:layer>
  <rect x="10" y="10" width="200" height="100" fill="url(#g)" style="fill:red" onmouseover="x()"/>
  <use xlink:href="http://evil.test/x.svg#a"/><use href="#hall"/>
  <path d="M0 0L10 10" stroke="url(http://evil.test/p)"/>
  <text x="20" y="40">Hall &amp; &lt;dock&gt;</text><!-- a comment -->
</svg>`

// TestFloorPlanUpload: an SVG is stored sanitised with its viewBox size, a PNG with its
// pixel size; wrong types, broken or oversized images and entity tricks are refused; only
// plant writers may change it, and every change is audited.
func TestFloorPlanUpload(t *testing.T) {
	sqliteOnly(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		admin := ev.token("acme", "tenant_admin")
		put := func(token, ctype string, data []byte) resp {
			return ev.do(req{method: "PUT", path: "/api/v1/floorplan", token: token, body: web.FloorPlanInput{ContentType: ctype, Data: base64.StdEncoding.EncodeToString(data)}})
		}
		if got := ev.do(req{method: "GET", path: "/api/v1/floorplan", token: admin}); got.code != http.StatusNotFound {
			t.Fatalf("no plan yet: %s", got)
		}
		var v web.FloorPlanView
		ev.must(http.StatusOK, req{method: "PUT", path: "/api/v1/floorplan", token: admin,
			body: web.FloorPlanInput{ContentType: "image/svg+xml", Data: base64.StdEncoding.EncodeToString([]byte(hostileSVG))}}, &v)
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/floorplan", token: ev.token("acme", "viewer")}, &v)
		svg, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(v.DataURL, "data:image/svg+xml;base64,"))
		if err != nil || v.Width != 800 || v.Height != 450 {
			t.Fatalf("stored %+v: %v", v.FloorPlan, err)
		}
		for _, bad := range []string{"script", "alert", "onload", "onclick", "onmouseover", "style", "evil", "foreignObject", "javascript", "inkscape", "<a"} {
			if strings.Contains(string(svg), bad) {
				t.Errorf("sanitised SVG still holds %q:\n%s", bad, svg)
			}
		}
		for _, good := range []string{`<rect x="10" y="10" width="200" height="100" fill="url(#g)">`, `<use href="#hall">`, `Hall &amp; &lt;dock&gt;`, `viewBox="0 0 800 450"`} {
			if !strings.Contains(string(svg), good) {
				t.Errorf("sanitised SVG lost %s:\n%s", good, svg)
			}
		}

		var pngBuf bytes.Buffer
		png.Encode(&pngBuf, image.NewGray(image.Rect(0, 0, 320, 200)))
		if got := put(admin, "image/png", pngBuf.Bytes()); got.code != http.StatusOK {
			t.Fatalf("png: %s", got)
		}
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/floorplan", token: admin}, &v)
		if v.ContentType != "image/png" || v.Width != 320 || v.Height != 200 || !strings.HasPrefix(v.DataURL, "data:image/png;base64,iVBOR") {
			t.Errorf("png stored as %+v", v.FloorPlan)
		}

		for _, c := range []struct {
			name, ctype string
			data        []byte
			status      int
		}{
			{"png called jpeg", "image/jpeg", pngBuf.Bytes(), http.StatusBadRequest},
			{"gif", "image/gif", []byte("GIF89a"), http.StatusBadRequest},
			{"broken png", "image/png", []byte("\x89PNG\r\n\x1a\nnope"), http.StatusBadRequest},
			{"entities", "image/svg+xml", []byte(`<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1">&x;</svg>`), http.StatusBadRequest},
			{"html", "image/svg+xml", []byte(`<html><body onload="x()"></body></html>`), http.StatusBadRequest},
			{"no size", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>`), http.StatusBadRequest},
			{"too large", "image/svg+xml", bytes.Repeat([]byte(" "), web.MaxFloorPlanBytes+1), http.StatusRequestEntityTooLarge},
		} {
			if got := put(admin, c.ctype, c.data); got.code != c.status {
				t.Errorf("%s: %s, want %d", c.name, got, c.status)
			}
		}
		if got := put(ev.token("acme", "supervisor"), "image/png", pngBuf.Bytes()); got.code != http.StatusForbidden {
			t.Errorf("supervisor uploads: %s", got)
		}
		ev.must(http.StatusNoContent, req{method: "DELETE", path: "/api/v1/floorplan", token: admin}, nil)
		acts := strings.Join(ev.auditActions(ev.acme.ID), ",")
		if strings.Count(acts, "floorplan.put") != 2 || !strings.Contains(acts, "floorplan.delete") {
			t.Errorf("audit: %s", acts)
		}
	})
}

// FuzzSanitizeSVG: whatever comes in, what SanitizeSVG returns is well-formed, holds only
// allowed elements and attributes, no script URL, and is unchanged by sanitising again.
func FuzzSanitizeSVG(f *testing.F) {
	f.Add([]byte(hostileSVG))
	f.Add([]byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="5"><g><rect/></g></svg>`))
	f.Add([]byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0,0,1,1"><![CDATA[<script>]]></svg>`))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, w, h, err := web.SanitizeSVG(in)
		if err != nil {
			return
		}
		if !(w > 0 && h > 0) {
			t.Fatalf("accepted without a size: %v %v", w, h)
		}
		again, w2, h2, err := web.SanitizeSVG(out)
		if err != nil || !bytes.Equal(again, out) || w2 != w || h2 != h {
			t.Fatalf("not idempotent (%v):\n%s\n%s", err, out, again)
		}
		dec := xml.NewDecoder(bytes.NewReader(out))
		for {
			tok, err := dec.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("output not well-formed: %v\n%s", err, out)
			}
			if se, ok := tok.(xml.StartElement); ok {
				switch se.Name.Local {
				case "script", "style", "foreignObject", "a", "image", "iframe", "animate", "set":
					t.Fatalf("element %s kept:\n%s", se.Name.Local, out)
				}
				for _, a := range se.Attr {
					v := strings.ToLower(a.Value)
					if strings.HasPrefix(strings.ToLower(a.Name.Local), "on") || a.Name.Local == "style" || strings.Contains(v, "javascript:") ||
						(a.Name.Local == "href" && !strings.HasPrefix(a.Value, "#")) {
						t.Fatalf("attribute %s=%q kept:\n%s", a.Name.Local, a.Value, out)
					}
				}
			}
		}
	})
}
