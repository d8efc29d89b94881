package detection

import (
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends d in the wire format of the detection message (ok and
// conf and camera only when they differ from their defaults). Decode of the
// result yields d again when d is valid.
func AppendJSON(b []byte, d Detection) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, d.ID, 10)
	b = append(b, `,"at":"`...)
	b = d.At.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, `","area":`...)
	b = strconv.AppendInt(b, d.Area, 10)
	b = append(b, `,"product":`...)
	b = strconv.AppendInt(b, d.Product, 10)
	if !d.OK {
		b = append(b, `,"ok":false`...)
	}
	if d.HasConf {
		b = append(b, `,"conf":`...)
		b = strconv.AppendFloat(b, float64(d.Conf), 'g', -1, 32)
	}
	if d.Camera != "" {
		b = append(b, `,"camera":`...)
		b = appendString(b, d.Camera)
	}
	return append(b, '}')
}

// appendString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
