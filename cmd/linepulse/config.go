package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one subcommand: its flags, what it does, and its help text.
type command struct {
	name  string // "serve", "tenant create", ...
	short string
	flags *flag.FlagSet
	run   func(ctx *cliContext) error
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// applyConfig fills every flag not given on the command line from, in order, the
// LINEPULSE_<FLAG> environment variable and the config file (--config or
// LINEPULSE_CONFIG, JSON {"flag-name": value}). Flags > environment > file > default.
func applyConfig(fs *flag.FlagSet, env func(string) string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	file := map[string]any{}
	path := ""
	if f := fs.Lookup("config"); f != nil {
		path = f.Value.String()
	}
	if path == "" {
		path = env("LINEPULSE_CONFIG")
	}
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("cannot read config file: %v", rootErr(err))
		}
		if err := json.Unmarshal(raw, &file); err != nil {
			return fmt.Errorf("config file %s is not valid JSON: %v", path, err)
		}
		for k := range file {
			if fs.Lookup(k) == nil {
				return fmt.Errorf("config file %s: unknown setting %q for %q", path, k, fs.Name())
			}
		}
	}
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || f.Name == "config" {
			return
		}
		if v := env(envName(f.Name)); v != "" {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %v", envName(f.Name), err))
			}
			return
		}
		if v, ok := file[f.Name]; ok {
			s := fmt.Sprint(v)
			if err := f.Value.Set(s); err != nil {
				errs = append(errs, fmt.Errorf("config file setting %q: %v", f.Name, err))
			}
		}
	})
	return errors.Join(errs...)
}

// envName maps a flag to its environment variable: --nats-url -> LINEPULSE_NATS_URL.
func envName(flagName string) string {
	return "LINEPULSE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// usage writes a command's help: every option with its default and variable.
func usage(w io.Writer, c *command) {
	fmt.Fprintf(w, "Usage: linepulse %s [options]\n\n%s\n\nOptions (each also LINEPULSE_<NAME> or a config-file key; flags win over the environment, the environment over the file):\n", c.name, c.short)
	var names []string
	c.flags.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	sort.Strings(names)
	for _, n := range names {
		f := c.flags.Lookup(n)
		def := f.DefValue
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  --%-22s %s (default %s, env %s)\n", n, f.Usage, def, envName(n))
	}
}

func rootErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %v", pe.Path, pe.Err)
	}
	return err
}
