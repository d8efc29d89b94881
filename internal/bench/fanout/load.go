package fanout

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/linepulse/linepulse/internal/bench/wsload"
	"github.com/linepulse/linepulse/internal/clock"
)

// LoadConfig is what the clients need; the parent sends it to its child as the first
// line of the child's stdin.
type LoadConfig struct {
	URL     string `json:"url"`
	Token   string `json:"token"`
	Clients int    `json:"clients"`
	Lines   int    `json:"lines"`
	Loops   int    `json:"loops"`
	RcvBuf  int    `json:"rcvbuf"`
}

func loadConfig(cfg Config, wsURL, token string) LoadConfig {
	return LoadConfig{URL: wsURL, Token: token, Clients: cfg.Clients, Lines: cfg.Lines, Loops: cfg.Loops, RcvBuf: cfg.RcvBuf}
}

// localLoad runs the clients in this process.
type localLoad struct{ g *wsload.Gen }

// startLocal connects the clients and waits for every snapshot.
func startLocal(ctx context.Context, lc LoadConfig) (*localLoad, error) {
	u, err := url.Parse(lc.URL)
	if err != nil {
		return nil, err
	}
	g, err := wsload.New(wsload.Config{
		Addr: u.Host, Path: u.Path, Token: func(int) string { return lc.Token },
		Clients: lc.Clients, Lines: lc.Lines, Seed: 1, Loops: lc.Loops, RcvBuf: lc.RcvBuf,
	})
	if err != nil {
		return nil, err
	}
	if err := g.Connect(ctx); err != nil {
		g.Close()
		return nil, err
	}
	var setup wsload.Window
	deadline := time.Now().Add(2 * time.Minute)
	for setup.Snapshots < int64(g.Subscriptions()) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			g.Close()
			return nil, fmt.Errorf("only %d of %d snapshots arrived (errors %d, closes %v)", setup.Snapshots, g.Subscriptions(), setup.Errors, setup.Closes)
		}
		time.Sleep(20 * time.Millisecond)
		w := g.Window()
		setup.Merge(&w)
	}
	return &localLoad{g: g}, nil
}

func (l *localLoad) Subscriptions() int { return l.g.Subscriptions() }
func (l *localLoad) Window() (wsload.Window, error) {
	w := l.g.Window()
	return w, nil
}
func (l *localLoad) MakeSlow(fr float64) (int, error) { return l.g.MakeSlow(fr, 2), nil }
func (l *localLoad) Close()                           { l.g.Close() }

// childLoad runs the clients in a child process (RunChild), given its LoadConfig and
// then asked for each window over its stdin, answering with one JSON line on its stdout.
type childLoad struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
	subs int
	cpu  float64
}

type childReply struct {
	Subs   int           `json:"subs,omitempty"`
	Slow   int           `json:"slow,omitempty"`
	Window wsload.Window `json:"window"`
	CPU    float64       `json:"cpu"`
	Err    string        `json:"error,omitempty"`
}

func startChild(ctx context.Context, cfg Config, wsURL string) (*childLoad, error) {
	if len(cfg.Child) == 0 {
		return nil, errors.New("no command line for the load generator's child process (Config.Child)")
	}
	first, err := json.Marshal(loadConfig(cfg, wsURL, benchToken))
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, cfg.Child[0], cfg.Child[1:]...)
	cmd.Stderr = cfg.ChildStderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start the load generator: %w", err)
	}
	c := &childLoad{cmd: cmd, in: in, out: bufio.NewScanner(outp)}
	c.out.Buffer(make([]byte, 1<<20), 16<<20)
	r, err := c.ask(string(first))
	if err != nil {
		c.Close()
		return nil, err
	}
	c.subs = r.Subs
	return c, nil
}

func (c *childLoad) reply() (childReply, error) {
	var r childReply
	if !c.out.Scan() {
		return r, fmt.Errorf("load generator ended: %v", c.out.Err())
	}
	if err := json.Unmarshal(c.out.Bytes(), &r); err != nil {
		return r, fmt.Errorf("load generator: %w", err)
	}
	if r.Err != "" {
		return r, errors.New("load generator: " + r.Err)
	}
	return r, nil
}

func (c *childLoad) ask(cmd string) (childReply, error) {
	if _, err := io.WriteString(c.in, cmd+"\n"); err != nil {
		return childReply{}, err
	}
	return c.reply()
}

func (c *childLoad) Subscriptions() int { return c.subs }

func (c *childLoad) Window() (wsload.Window, error) {
	r, err := c.ask("window")
	r.Window.CPU = r.CPU - c.cpu
	c.cpu = r.CPU
	return r.Window, err
}

func (c *childLoad) MakeSlow(fr float64) (int, error) {
	r, err := c.ask("slow " + strconv.FormatFloat(fr, 'g', -1, 64))
	return r.Slow, err
}

func (c *childLoad) Close() {
	_ = c.in.Close() // the child exits at end of input
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	if _, ok := clock.RecvWithin(clock.Real, 30*time.Second, done); !ok {
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// RunChild is the child process of the fan-out bench (`linepulse bench fanout
// --load-child`): it reads a LoadConfig from the first line of in, connects the clients
// and answers "window" and "slow <fraction>" lines with one JSON line each on out, until
// in ends. Errors go to the parent in the reply.
func RunChild(ctx context.Context, in io.Reader, out io.Writer) error {
	enc := json.NewEncoder(out)
	sc := bufio.NewScanner(in)
	if !sc.Scan() {
		return sc.Err() // the parent went away before asking anything
	}
	var lc LoadConfig
	if err := json.Unmarshal(sc.Bytes(), &lc); err != nil {
		return enc.Encode(&childReply{Err: "bad load configuration: " + err.Error()})
	}
	if _, err := wsload.RaiseFileLimit(); err != nil {
		return enc.Encode(&childReply{Err: err.Error()})
	}
	l, err := startLocal(ctx, lc)
	if err != nil {
		return enc.Encode(&childReply{Err: err.Error()})
	}
	defer l.Close()
	if err := enc.Encode(&childReply{Subs: l.Subscriptions(), CPU: wsload.ProcessCPU()}); err != nil {
		return err
	}
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(sc.Text(), " ")
		var r childReply
		switch cmd {
		case "window":
			r.Window, _ = l.Window()
		case "slow":
			fr, err := strconv.ParseFloat(arg, 64)
			if err != nil {
				r.Err = err.Error()
			} else {
				r.Slow, _ = l.MakeSlow(fr)
			}
		default:
			r.Err = "unknown command " + cmd
		}
		r.CPU = wsload.ProcessCPU()
		if err := enc.Encode(&r); err != nil {
			return err
		}
	}
	return sc.Err()
}
