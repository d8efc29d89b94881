package web_test

import (
	"bytes"
	"compress/zlib"
	"io"
	"regexp"
	"strings"
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
