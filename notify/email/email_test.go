package email_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/linepulse/linepulse/notify/email"
	"github.com/linepulse/linepulse/notify/email/emailtest"
)

func TestSendOverSTARTTLSWithLogin(t *testing.T) {
	srv := emailtest.Start(t)
	msg := email.Message{From: "LinePulse <alerts@plant.test>", To: []string{"boss@plant.test", "Ana <ana@plant.test>"},
		Subject: "Línea 1 parada", Text: "Line 1 stopped at 10:05", HTML: "<p>Line 1 stopped</p>",
		Attachments: []email.Attachment{{Name: "report.csv", ContentType: "text/csv", Data: []byte("a,b\n1,2\n")}}}
	if err := email.Send(context.Background(), srv.Config, msg); err != nil {
		t.Fatal(err)
	}
	got := srv.Received()
	if len(got) != 1 || got[0].From != "alerts@plant.test" || strings.Join(got[0].To, ",") != "boss@plant.test,ana@plant.test" {
		t.Fatalf("received: %+v", got)
	}
	body := string(got[0].Data)
	for _, want := range []string{"Subject: =?utf-8?q?L=C3=ADnea_1_parada?=", "Line 1 stopped at 10:05", "text/html", "filename=\"report.csv\""} {
		if !strings.Contains(body, want) {
			t.Errorf("message lacks %q:\n%s", want, body)
		}
	}

	// A wrong password fails, and the error does not carry it.
	bad := srv.Config
	bad.Password = "wrong-secret-xyz"
	err := email.Send(context.Background(), bad, msg)
	if err == nil || strings.Contains(err.Error(), "wrong-secret-xyz") {
		t.Fatalf("wrong password: %v", err)
	}
	// Without STARTTLS trust the certificate check fails: no silent downgrade.
	untrusted := srv.Config
	untrusted.TLSConfig = nil
	if err := email.Send(context.Background(), untrusted, msg); err == nil {
		t.Fatal("sent to an untrusted certificate")
	}
	if len(srv.Received()) != 1 {
		t.Fatal("failed sends delivered mail")
	}
}

// TestSentOnceAccepted: once the server answered 250 to the message it is delivered; a
// connection lost at QUIT (a shutdown, a relay hanging up) must not report a failure, or
// the caller retries and the recipients get the mail twice.
func TestSentOnceAccepted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		fmt.Fprint(conn, "220 relay.test ESMTP\r\n")
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch cmd := strings.ToUpper(strings.TrimSpace(l)); {
			case strings.HasPrefix(cmd, "EHLO"):
				fmt.Fprint(conn, "250 relay.test\r\n")
			case cmd == "DATA":
				fmt.Fprint(conn, "354 go on\r\n")
				for l != ".\r\n" {
					if l, err = r.ReadString('\n'); err != nil {
						return
					}
				}
				fmt.Fprint(conn, "250 queued\r\n")
			case cmd == "QUIT":
				return // hang up without 221
			default:
				fmt.Fprint(conn, "250 ok\r\n")
			}
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	err = email.Send(context.Background(), email.Server{Host: "127.0.0.1", Port: port, TLS: email.None},
		email.Message{From: "a@plant.test", To: []string{"b@plant.test"}, Subject: "s", Text: "t"})
	if err != nil {
		t.Fatalf("an accepted message reported as failed: %v", err)
	}
}
