// Package email sends one e-mail through an SMTP server: plain, STARTTLS or implicit TLS,
// with optional PLAIN authentication. It knows nothing of LinePulse: alerts and scheduled
// reports build a Message and call Send. Passwords are never part of an error.
package email

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strconv"
	"strings"
	"time"
)

// Security modes of Server.TLS.
const (
	StartTLS = "starttls" // plain connection upgraded with STARTTLS (required); the default
	TLS      = "tls"      // implicit TLS from the first byte (port 465)
	None     = "none"     // no encryption (local relays only)
)

// Server is where mail is handed over.
type Server struct {
	Host     string
	Port     int
	TLS      string // StartTLS (default), TLS or None
	Username string // empty: no authentication
	Password string
	// TLSConfig overrides the TLS settings (tests trust their own certificate); ServerName
	// defaults to Host.
	TLSConfig *tls.Config
	// Timeout bounds the whole exchange. Default 30s.
	Timeout time.Duration
}

// Attachment is a file sent with a message.
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// Message is one e-mail. Text is required; HTML, when set, is the alternative part.
type Message struct {
	From        string
	To          []string
	Subject     string
	Text        string
	HTML        string
	Attachments []Attachment
	// Headers are extra headers (e.g. an idempotency or reference id), names canonical.
	Headers map[string]string
}

// Send delivers m through s.
func Send(ctx context.Context, s Server, m Message) error {
	if s.Timeout <= 0 {
		s.Timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return fmt.Errorf("email: cannot send: bad from address: %w", err)
	}
	if len(m.To) == 0 {
		return errors.New("email: cannot send: no recipients")
	}
	to := make([]string, len(m.To))
	for i, addr := range m.To {
		a, err := mail.ParseAddress(addr)
		if err != nil {
			return fmt.Errorf("email: cannot send: bad recipient %q: %w", addr, err)
		}
		to[i] = a.Address
	}
	body, err := m.build(time.Now())
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	tc := s.TLSConfig
	if tc == nil {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	} else {
		tc = tc.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = s.Host
	}
	d := net.Dialer{}
	var conn net.Conn
	if s.TLS == TLS {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: tc}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("email: cannot connect to %s: %w", addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		return fmt.Errorf("email: %s: %w", addr, err)
	}
	defer c.Close()
	if s.TLS == "" || s.TLS == StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("email: %s does not offer STARTTLS", addr)
		}
		if err := c.StartTLS(tc); err != nil {
			return fmt.Errorf("email: STARTTLS with %s: %w", addr, err)
		}
	}
	if s.Username != "" {
		if err := c.Auth(plainAuth{user: s.Username, pass: s.Password, host: s.Host, plainOK: s.TLS == None}); err != nil {
			return fmt.Errorf("email: %s refused the login of %s: %w", addr, s.Username, err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("email: MAIL FROM refused by %s: %w", addr, err)
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt); err != nil {
			return fmt.Errorf("email: RCPT TO %s refused by %s: %w", rcpt, addr, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("email: DATA refused by %s: %w", addr, err)
	}
	if _, err := w.Write(body); err != nil {
		return fmt.Errorf("email: cannot write to %s: %w", addr, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("email: %s did not accept the message: %w", addr, err)
	}
	// Accepted (250) means delivered: a failed QUIT must not make the caller send it again.
	_ = c.Quit()
	return nil
}

// plainAuth is PLAIN authentication; net/smtp's refuses it without TLS except on
// localhost, and TLS "none" is the admin's explicit choice.
type plainAuth struct {
	user, pass, host string
	plainOK          bool
}

func (a plainAuth) Start(si *smtp.ServerInfo) (string, []byte, error) {
	if !si.TLS && !a.plainOK {
		return "", nil, errors.New("refusing to send the password over an unencrypted connection")
	}
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected server challenge")
	}
	return nil, nil
}

// build renders the message as RFC 5322 with MIME parts, quoted-printable text.
func (m Message) build(now time.Time) ([]byte, error) {
	var b bytes.Buffer
	h := func(k, v string) {
		v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
		b.WriteString(k + ": " + v + "\r\n")
	}
	h("From", m.From)
	h("To", strings.Join(m.To, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	h("Date", now.Format(time.RFC1123Z))
	h("Message-ID", "<"+token()+"@linepulse>")
	h("MIME-Version", "1.0")
	for k, v := range m.Headers {
		h(k, v)
	}
	part := func(ct, content string) {
		b.WriteString("Content-Type: " + ct + "; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		w := quotedprintable.NewWriter(&b)
		w.Write([]byte(content))
		w.Close()
		b.WriteString("\r\n")
	}
	if m.HTML == "" && len(m.Attachments) == 0 {
		part("text/plain", m.Text)
		return b.Bytes(), nil
	}
	outer := token()
	b.WriteString("Content-Type: multipart/mixed; boundary=" + outer + "\r\n\r\n")
	b.WriteString("--" + outer + "\r\n")
	if m.HTML != "" {
		alt := token()
		b.WriteString("Content-Type: multipart/alternative; boundary=" + alt + "\r\n\r\n")
		b.WriteString("--" + alt + "\r\n")
		part("text/plain", m.Text)
		b.WriteString("--" + alt + "\r\n")
		part("text/html", m.HTML)
		b.WriteString("--" + alt + "--\r\n")
	} else {
		part("text/plain", m.Text)
	}
	for _, a := range m.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		b.WriteString("--" + outer + "\r\n")
		b.WriteString("Content-Type: " + ct + "\r\nContent-Transfer-Encoding: base64\r\n")
		b.WriteString("Content-Disposition: attachment; filename=\"" + strings.ReplaceAll(a.Name, "\"", "") + "\"\r\n\r\n")
		enc := base64.StdEncoding.EncodeToString(a.Data)
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		b.WriteString(enc + "\r\n")
	}
	b.WriteString("--" + outer + "--\r\n")
	return b.Bytes(), nil
}

func token() string {
	var r [12]byte
	_, _ = rand.Read(r[:])
	return hex.EncodeToString(r[:])
}
