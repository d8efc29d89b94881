package email_test

import (
	"context"
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
