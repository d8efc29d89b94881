package web

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

const (
	svgNS        = "http://www.w3.org/2000/svg"
	xlinkNS      = "http://www.w3.org/1999/xlink"
	maxSVGDepth  = 64
	maxSVGNodes  = 50000
	maxSVGLength = 64 << 20
)

// svgElements are the drawing elements a floor plan may keep; anything else (script,
// style, foreignObject, image, a, animate, ...) is dropped with everything inside it.
var svgElements = map[string]bool{
	"svg": true, "g": true, "path": true, "rect": true, "circle": true, "ellipse": true, "line": true,
	"polyline": true, "polygon": true, "text": true, "tspan": true, "title": true, "desc": true, "defs": true,
	"linearGradient": true, "radialGradient": true, "stop": true, "clipPath": true, "use": true, "symbol": true,
}

// svgAttributes are the attributes kept (geometry and presentation); event handlers,
// style and every other attribute are dropped.
var svgAttributes = map[string]bool{
	"id": true, "class": true, "x": true, "y": true, "x1": true, "y1": true, "x2": true, "y2": true, "cx": true, "cy": true,
	"r": true, "rx": true, "ry": true, "width": true, "height": true, "d": true, "points": true, "transform": true,
	"fill": true, "fill-opacity": true, "fill-rule": true, "stroke": true, "stroke-width": true, "stroke-opacity": true,
	"stroke-linecap": true, "stroke-linejoin": true, "stroke-dasharray": true, "opacity": true, "viewBox": true,
	"preserveAspectRatio": true, "font-size": true, "font-family": true, "font-weight": true, "text-anchor": true,
	"dominant-baseline": true, "offset": true, "stop-color": true, "stop-opacity": true, "gradientUnits": true,
	"gradientTransform": true, "clip-path": true, "clip-rule": true, "href": true,
}

// SanitizeSVG rewrites an uploaded SVG keeping only drawing elements and attributes (see
// svgElements, svgAttributes): no scripts, event handlers, styles, external references
// (an href or url() must point inside the document, "#id"), DOCTYPE or entities. It
// returns the clean document and its size in user units (the viewBox, else width and
// height). The output is well-formed and sanitising it again changes nothing.
func SanitizeSVG(in []byte) ([]byte, float64, float64, error) {
	if len(in) > maxSVGLength {
		return nil, 0, 0, errors.New("the SVG is too large")
	}
	dec := xml.NewDecoder(bytes.NewReader(in))
	dec.Strict = true
	dec.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		return nil, fmt.Errorf("encoding %q: only UTF-8 is accepted", label)
	}
	var out bytes.Buffer
	var open []string // elements written and not yet closed
	skip := 0         // depth inside a dropped element
	nodes := 0
	var w, h float64
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, 0, fmt.Errorf("not well-formed XML: %w", err)
		}
		switch tk := tok.(type) {
		case xml.Directive:
			return nil, 0, 0, errors.New("DOCTYPE and entity declarations are not allowed")
		case xml.StartElement:
			if nodes++; nodes > maxSVGNodes {
				return nil, 0, 0, fmt.Errorf("more than %d elements", maxSVGNodes)
			}
			if len(open)+skip >= maxSVGDepth {
				return nil, 0, 0, fmt.Errorf("nested deeper than %d elements", maxSVGDepth)
			}
			root := len(open) == 0 && skip == 0
			if root && (tk.Name.Local != "svg" || tk.Name.Space != svgNS) {
				return nil, 0, 0, errors.New("the root element must be an svg element in the SVG namespace")
			}
			if skip > 0 || tk.Name.Space != svgNS || !svgElements[tk.Name.Local] {
				skip++
				continue
			}
			if !root && len(open) == 0 {
				return nil, 0, 0, errors.New("more than one root element")
			}
			out.WriteString("<" + tk.Name.Local)
			if root {
				out.WriteString(` xmlns="` + svgNS + `"`)
			}
			for _, a := range tk.Attr {
				name, ok := svgAttr(a)
				if !ok {
					continue
				}
				out.WriteString(" " + name + `="`)
				xml.EscapeText(&out, []byte(a.Value))
				out.WriteString(`"`)
			}
			out.WriteString(">")
			if root {
				w, h = svgSize(tk.Attr)
			}
			open = append(open, tk.Name.Local)
		case xml.EndElement:
			if skip > 0 {
				skip--
				continue
			}
			out.WriteString("</" + open[len(open)-1] + ">")
			open = open[:len(open)-1]
			if len(open) == 0 {
				// Nothing but white space, comments and processing instructions may follow.
				if err := svgTail(dec); err != nil {
					return nil, 0, 0, err
				}
				if !(w > 0 && h > 0) {
					return nil, 0, 0, errors.New("the svg element needs a viewBox or a width and height")
				}
				return out.Bytes(), w, h, nil
			}
		case xml.CharData:
			if skip == 0 && len(open) > 0 {
				xml.EscapeText(&out, tk)
			}
		}
		// Comments and processing instructions (<?xml ...?>) are dropped.
	}
	return nil, 0, 0, errors.New("no complete svg element")
}

func svgTail(dec *xml.Decoder) error {
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("not well-formed XML: %w", err)
		}
		switch tk := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(tk)) > 0 {
				return errors.New("text after the svg element")
			}
		case xml.StartElement, xml.Directive:
			return errors.New("content after the svg element")
		}
	}
}

// svgAttr decides whether an attribute is kept, and its name in the output.
func svgAttr(a xml.Attr) (string, bool) {
	name := a.Name.Local
	switch a.Name.Space {
	case "":
	case xlinkNS:
		if name != "href" {
			return "", false
		}
	default:
		return "", false
	}
	if !svgAttributes[name] {
		return "", false
	}
	v := strings.ToLower(a.Value)
	if name == "href" {
		return name, strings.HasPrefix(a.Value, "#") && !strings.ContainsAny(a.Value, " \t\r\n")
	}
	// url() only to something inside the document: fill="url(#grad)".
	if i := strings.Index(v, "url("); i >= 0 {
		rest := strings.TrimSpace(v[i+4:])
		if !strings.HasPrefix(rest, "#") || strings.Count(v, "url(") > 1 {
			return "", false
		}
	}
	if strings.Contains(v, "javascript:") || strings.Contains(v, "data:") || strings.Contains(v, "expression(") {
		return "", false
	}
	return name, true
}

// svgSize is the size of the root element: its viewBox, else width and height (plain
// numbers or px).
func svgSize(attrs []xml.Attr) (float64, float64) {
	var w, h float64
	for _, a := range attrs {
		if a.Name.Space != "" {
			continue
		}
		switch a.Name.Local {
		case "viewBox":
			f := strings.FieldsFunc(a.Value, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\n' || r == '\r' })
			if len(f) == 4 {
				vw, err1 := strconv.ParseFloat(f[2], 64)
				vh, err2 := strconv.ParseFloat(f[3], 64)
				if err1 == nil && err2 == nil && vw > 0 && vh > 0 && vw < 1e9 && vh < 1e9 {
					return vw, vh
				}
			}
		case "width":
			w = svgLength(a.Value)
		case "height":
			h = svgLength(a.Value)
		}
	}
	return w, h
}

func svgLength(s string) float64 {
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "px"), 64)
	if err != nil || !(v > 0) || v >= 1e9 {
		return 0
	}
	return v
}
