package bus

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// serverLogger adapts nats-server's printf-style Logger to slog. Fatal messages
// (e.g. "can't listen", "can't start JetStream") are also handed to Start, which
// turns them into an error instead of waiting for a server that will never be ready.
type serverLogger struct {
	log   *slog.Logger
	fatal chan string
}

func newServerLogger(log *slog.Logger) *serverLogger {
	return &serverLogger{log: log.With("component", "nats"), fatal: make(chan string, 1)}
}

func (l *serverLogger) Noticef(format string, v ...any) { l.log.Info(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Tracef(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }

func (l *serverLogger) Errorf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	switch {
	case strings.Contains(msg, "authentication error"):
		// The authenticator already logged the refusal, with the reason, at Info.
		l.log.Debug(msg)
	case strings.Contains(msg, "Permissions Violation"):
		// A misbehaving client, not a server fault.
		l.log.Warn(msg)
	default:
		l.log.Error(msg)
	}
}

func (l *serverLogger) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.log.Error(msg, "fatal", true)
	select {
	case l.fatal <- msg:
	default:
	}
}

func (l *serverLogger) debugEnabled() bool {
	return l.log.Enabled(context.Background(), slog.LevelDebug)
}
