// Command linepulse runs the LinePulse server and its administration tools. It only wires
// packages together: configuration in, components started and stopped in order.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// cliContext is what a subcommand receives.
type cliContext struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
	args   []string // positional arguments after the flags
}

// commonFlags are accepted by every subcommand.
type commonFlags struct {
	config    *string
	logFormat *string
	logLevel  *string
}

func addCommon(fs *flag.FlagSet) commonFlags {
	return commonFlags{
		config:    fs.String("config", "", "JSON config file with {\"flag-name\": value} settings"),
		logFormat: fs.String("log-format", "text", "log format: text or json"),
		logLevel:  fs.String("log-level", "info", "log level: debug, info, warn or error"),
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit code. Errors are printed as one
// line, never as a stack trace.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) string) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c := findCommand(cmds, args[1:]); c != nil {
				usage(stdout, c)
				return 0
			}
		}
		overview(stdout, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c := findCommand(cmds, args)
	if c == nil {
		fmt.Fprintf(stderr, "linepulse: unknown command %q (run `linepulse help`)\n", strings.Join(args, " "))
		return 2
	}
	rest := args[len(strings.Fields(c.name)):]
	common := addCommon(c.flags)
	if err := c.flags.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout, c)
			return 0
		}
		fmt.Fprintf(stderr, "linepulse %s: %v (see `linepulse %s --help`)\n", c.name, err, c.name)
		return 2
	}
	if err := applyConfig(c.flags, env); err != nil {
		fmt.Fprintf(stderr, "linepulse %s: %v\n", c.name, err)
		return 2
	}
	log, err := newLogger(stderr, *common.logFormat, *common.logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "linepulse %s: %v\n", c.name, err)
		return 2
	}
	cc := &cliContext{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, log: log, args: c.flags.Args()}
	if err := c.run(cc); err != nil {
		fmt.Fprintf(stderr, "linepulse %s: %v\n", c.name, oneLine(err))
		return 1
	}
	return 0
}

func findCommand(cmds []*command, args []string) *command {
	var best *command
	for _, c := range cmds {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			if best == nil || len(words) > len(strings.Fields(best.name)) {
				best = c
			}
		}
	}
	return best
}

func overview(w io.Writer, cmds []*command) {
	fmt.Fprintln(w, "LinePulse: real-time production monitoring.\n\nUsage: linepulse <command> [options]\n\nCommands:")
	width := 0
	for _, c := range cmds {
		width = max(width, len(c.name))
	}
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.short)
	}
	fmt.Fprintln(w, "\nRun `linepulse help <command>` or `linepulse <command> --help` for its options.")
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("invalid --log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("invalid --log-format %q: use text or json", format)
}

// oneLine flattens a wrapped error chain onto one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func commands() []*command {
	return []*command{
		serveCommand(),
		migrateCommand(),
		tenantCreateCommand(),
		userCreateCommand(),
		lineCreateCommand(),
		partitionsCommand(),
		benchFanoutCommand(),
		deviceCreateCommand(),
		deviceRevokeCommand(),
		deviceListCommand(),
		natsConfigCommand(),
		simCommand(),
		benchIngestCommand(),
		plantApplyCommand(),
		benchQueryCommand(),
		benchAlertsCommand(),
		auditVerifyCommand(),
		recomputeCommand(),
		alertRuleListCommand(),
		alertRuleCreateCommand(),
		alertRuleDeleteCommand(),
		channelListCommand(),
		channelCreateCommand(),
		channelDeleteCommand(),
	}
}
