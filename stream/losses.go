package stream

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/linepulse/linepulse/loss"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/stream/oee"
	"github.com/linepulse/linepulse/stream/shiftcal"
)

// InstanceID names a shift instance: the local date it starts and the shift's id,
// "2026-12-01.1". It is stable (a shift's edits keep it) and readable.
func InstanceID(in shiftcal.Instance) string {
	return in.Date + "." + strconv.FormatInt(in.ShiftID, 10)
}

var instanceRe = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2})\.(\d{1,18})$`)

// parseInstance splits an instance id into its local date and shift id.
func parseInstance(id string) (time.Time, int64, error) {
	m := instanceRe.FindStringSubmatch(id)
	if m == nil {
		return time.Time{}, 0, invalid("shift_instance", "instance", fmt.Sprintf("%q is not a shift instance id (date.shift, e.g. 2026-12-01.1)", id))
	}
	d, err := time.Parse(time.DateOnly, m[1])
	if err != nil {
		return time.Time{}, 0, invalid("shift_instance", "instance", fmt.Sprintf("%q: bad date", id))
	}
	sid, _ := strconv.ParseInt(m[2], 10, 64)
	return d, sid, nil
}

func refOf(in shiftcal.Instance) *ShiftRef {
	return &ShiftRef{ID: in.ShiftID, Instance: InstanceID(in), Name: in.Name, Start: in.Start.UTC(), End: in.End.UTC()}
}

// instanceAt names the shift instance that is exactly [from, to), or nil.
func (lc lineCtx) instanceAt(from, to time.Time) *ShiftRef {
	if lc.cal == nil {
		return nil
	}
	for _, in := range lc.cal.Instances(lc.line.ID, from, to) {
		if in.Start.Equal(from) && in.End.Equal(to) {
			return refOf(in)
		}
	}
	return nil
}

// instanceOEE is the OEE of an instance up to now (whole once it ended).
func (h *History) instanceOEE(ctx context.Context, lc lineCtx, in shiftcal.Instance, now time.Time) (OEEReport, error) {
	to := instanceEnd(in, now)
	rep, err := h.oee(ctx, lc, in.Start, to)
	if err != nil {
		return OEEReport{}, err
	}
	rep.Shift = refOf(in)
	return rep, nil
}

// instanceEnd is where the figures of an instance stop: its end, or now while it runs.
func instanceEnd(in shiftcal.Instance, now time.Time) time.Time {
	return untilNow(in.Start, in.End, now)
}

// untilNow is where the figures of [from, to) stop: to, or now when to is later (planned
// time still ahead has neither run nor stopped), never before from.
func untilNow(from, to, now time.Time) time.Time {
	to = earlier(to, now)
	if !to.After(from) {
		to = from.Add(time.Millisecond)
	}
	return to
}

// ShiftSummary is one shift instance of a line with its figures (up to now while it runs).
type ShiftSummary struct {
	ID      string    `json:"id"` // InstanceID
	ShiftID int64     `json:"shift_id"`
	Name    string    `json:"name"`
	Date    string    `json:"date"` // local date it starts
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Running bool      `json:"running"` // the instance has not ended yet
	// Target is the planned quantity of good units of the instance (0: none), TargetToNow
	// its share for the planned time elapsed while it runs (docs/OEE.md, "Targets").
	Target      int64 `json:"target,omitempty"`
	TargetToNow int64 `json:"target_to_now,omitempty"`
	OEEReport
}

// ShiftDetail is one instance with its stops and its loss waterfall.
type ShiftDetail struct {
	ShiftSummary
	Stops  []store.DowntimeEvent `json:"stops"`
	Losses loss.Waterfall        `json:"losses"`
}

// MaxShiftList bounds Shifts.
const MaxShiftList = 2000

// Shifts lists the instances of a line's shifts that started in [from, to) and before now,
// oldest first, each with its OEE.
func (h *History) Shifts(ctx context.Context, tenantID, lineID int64, from, to time.Time) ([]ShiftSummary, error) {
	if err := checkRange(from, to); err != nil {
		return nil, err
	}
	lc, err := h.lineCtx(ctx, tenantID, lineID)
	if err != nil {
		return nil, err
	}
	cal, err := lc.calendar()
	if err != nil {
		return nil, err
	}
	now := h.now()
	var insts []shiftcal.Instance
	for _, in := range cal.Instances(lineID, from, to) {
		if in.Start.Before(from) || !in.Start.Before(to) || in.Start.After(now) {
			continue
		}
		if len(insts) == MaxShiftList {
			return nil, invalid("range", "to", fmt.Sprintf("more than %d shift instances: narrow the range", MaxShiftList))
		}
		insts = append(insts, in)
	}
	out := []ShiftSummary{}
	var running *shiftcal.Instance // read on its own: its end (now) is not on a rollup step
	if n := len(insts); n > 0 && now.Before(insts[n-1].End) {
		running, insts = &insts[n-1], insts[:n-1]
	}
	if len(insts) > 0 {
		if out, err = h.finishedShifts(ctx, lc, cal, insts, now); err != nil {
			return nil, err
		}
	}
	if running != nil {
		rep, err := h.instanceOEE(ctx, lc, *running, now)
		if err != nil {
			return nil, err
		}
		out = append(out, lc.summaryOf(*running, rep, now))
	}
	return out, nil
}

// finishedShifts computes ended instances from one read of the events and the rollups,
// each as oee computes it (the tests compare the two).
func (h *History) finishedShifts(ctx context.Context, lc lineCtx, cal *shiftcal.Calendar, insts []shiftcal.Instance, now time.Time) ([]ShiftSummary, error) {
	lineID := lc.line.ID
	out := make([]ShiftSummary, 0, len(insts))
	lo, hi := insts[0].Start, instanceEnd(insts[len(insts)-1], now)
	evs, err := lc.tdb.DowntimeBetween(ctx, lineID, lo, hi)
	if err != nil {
		return nil, err
	}
	spans := make([]ProductionBucket, len(insts))
	for i, in := range insts {
		spans[i] = ProductionBucket{Start: in.Start, End: instanceEnd(in, now)}
	}
	rows, err := h.productionByProduct(ctx, lc, lo, hi, stepFor(spans))
	if err != nil {
		return nil, err
	}
	micro, err := lc.tdb.MicroStops(ctx, lineID, store.MinuteRange{From: minuteOf(lo, false), To: minuteOf(hi, true)})
	if err != nil {
		return nil, err
	}
	firsts, err := h.firstDataOf(ctx, lc, spans)
	if err != nil {
		return nil, err
	}
	for i, in := range insts {
		end := spans[i].End
		sp := stopSet{cal: cal, planned: cal.PlannedIntervals(lineID, in.Start, end), evs: evs}
		for _, iv := range sp.planned {
			sp.plannedTime += iv.End.Sub(iv.Start)
		}
		for _, ev := range evs {
			if d := PlannedOverlap(ev.Start, eventEnd(ev, now), sp.planned); d > 0 {
				sp.stops = append(sp.stops, clippedStop{ev, d})
			}
		}
		sp.setUnmonitored(in.Start, firsts[i], now)
		var m made
		first, last := minuteOf(in.Start, false), minuteOf(end, true)
		k := sort.Search(len(rows), func(k int) bool { return rows[k].Minute >= first })
		for ; k < len(rows) && rows[k].Minute < last; k++ {
			m.add(lc, rows[k])
		}
		rep := lc.report(sp, m, in.Start, end)
		sumMicro(micro, in.Start, end).set(&rep)
		rep.Shift = refOf(in)
		out = append(out, lc.summaryOf(in, rep, now))
	}
	return out, nil
}

// eventEnd is where a booked event ends: an open one runs until now.
func eventEnd(ev store.DowntimeEvent, now time.Time) time.Time {
	if ev.End != nil {
		return *ev.End
	}
	return now
}

func (lc lineCtx) summaryOf(in shiftcal.Instance, rep OEEReport, now time.Time) ShiftSummary {
	s := ShiftSummary{ID: InstanceID(in), ShiftID: in.ShiftID, Name: in.Name, Date: in.Date,
		Start: in.Start.UTC(), End: in.End.UTC(), Running: now.Before(in.End), OEEReport: rep}
	s.Target = lc.targets[in.ShiftID]
	if s.Running {
		s.TargetToNow = targetToNow(lc.cal, lc.line.ID, in.Start, in.End, now, s.Target)
	}
	return s
}

// instance finds an instance of a line by id; store.ErrNotFound when there is none (or it
// has not started).
func (h *History) instance(lc lineCtx, id string) (shiftcal.Instance, error) {
	day, sid, err := parseInstance(id)
	if err != nil {
		return shiftcal.Instance{}, err
	}
	cal, err := lc.calendar()
	if err != nil {
		return shiftcal.Instance{}, err
	}
	local := time.Date(day.Year(), day.Month(), day.Day(), 12, 0, 0, 0, lc.loc)
	for _, in := range cal.Instances(lc.line.ID, local.Add(-36*time.Hour), local.Add(36*time.Hour)) {
		if in.ShiftID == sid && InstanceID(in) == id && !in.Start.After(h.now()) {
			return in, nil
		}
	}
	return shiftcal.Instance{}, fmt.Errorf("stream: no shift instance %s on line %d: %w", id, lc.line.ID, store.ErrNotFound)
}

// Shift returns one instance with its stops and loss waterfall.
func (h *History) Shift(ctx context.Context, tenantID, lineID int64, id string) (ShiftDetail, error) {
	lc, err := h.lineCtx(ctx, tenantID, lineID)
	if err != nil {
		return ShiftDetail{}, err
	}
	in, err := h.instance(lc, id)
	if err != nil {
		return ShiftDetail{}, err
	}
	now := h.now()
	to := instanceEnd(in, now)
	rep, lin, err := h.oeeAndLosses(ctx, lc, in.Start, to)
	if err != nil {
		return ShiftDetail{}, err
	}
	rep.Shift = refOf(in)
	stops, err := lc.tdb.DowntimeBetween(ctx, lineID, in.Start, to)
	if err != nil {
		return ShiftDetail{}, err
	}
	if stops == nil {
		stops = []store.DowntimeEvent{}
	}
	return ShiftDetail{ShiftSummary: lc.summaryOf(in, rep, now), Stops: stops, Losses: loss.Compute(lin)}, nil
}

// LossReport is the loss waterfall of a line over a range with the OEE it reconciles with.
type LossReport struct {
	LineID int64          `json:"line_id"`
	OEE    OEEReport      `json:"oee"`
	Losses loss.Waterfall `json:"losses"`
}

// Losses is the six-big-losses waterfall of a line over [from, to), up to now.
func (h *History) Losses(ctx context.Context, tenantID, lineID int64, from, to time.Time) (LossReport, error) {
	if err := checkRange(from, to); err != nil {
		return LossReport{}, err
	}
	lc, err := h.lineCtx(ctx, tenantID, lineID)
	if err != nil {
		return LossReport{}, err
	}
	rep, in, err := h.oeeAndLosses(ctx, lc, from, untilNow(from, to, h.now()))
	if err != nil {
		return LossReport{}, err
	}
	rep.Shift = lc.instanceAt(from, to)
	return LossReport{LineID: lineID, OEE: rep, Losses: loss.Compute(in)}, nil
}

// PlantLossReport is the loss waterfall of several lines over a range: their times added
// (loss.Sum), so each line weighs by its planned time.
type PlantLossReport struct {
	Lines  []int64        `json:"lines"`
	From   time.Time      `json:"from"`
	To     time.Time      `json:"to"`
	Losses loss.Waterfall `json:"losses"`
}

// PlantLosses is the six-big-losses waterfall of lines over [from, to), up to now.
func (h *History) PlantLosses(ctx context.Context, tenantID int64, lines []int64, from, to time.Time) (PlantLossReport, error) {
	if err := checkRange(from, to); err != nil {
		return PlantLossReport{}, err
	}
	if len(lines) > MaxParetoLines {
		return PlantLossReport{}, invalid("losses_query", "lines", fmt.Sprintf("at most %d lines", MaxParetoLines))
	}
	until := untilNow(from, to, h.now())
	ins := make([]loss.Input, 0, len(lines))
	for _, id := range lines {
		lc, err := h.lineCtx(ctx, tenantID, id)
		if err != nil {
			return PlantLossReport{}, err
		}
		_, in, err := h.oeeAndLosses(ctx, lc, from, until)
		if err != nil {
			return PlantLossReport{}, err
		}
		ins = append(ins, in)
	}
	return PlantLossReport{Lines: lines, From: from, To: to, Losses: loss.Compute(loss.Sum(ins...))}, nil
}

// oeeAndLosses reads the range once for both the OEE and its waterfall's input.
func (h *History) oeeAndLosses(ctx context.Context, lc lineCtx, from, to time.Time) (OEEReport, loss.Input, error) {
	sp, err := h.stopsIn(ctx, lc, from, to)
	if err != nil {
		return OEEReport{}, loss.Input{}, err
	}
	if err := h.classify(ctx, lc, &sp); err != nil {
		return OEEReport{}, loss.Input{}, err
	}
	// The counts and the start-up rejects are two independent scans of the rollups: run
	// them side by side.
	var startup map[int64]int64
	var serr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		startup, serr = h.rejectsIn(ctx, lc, startupMinutes(startsOf(sp, lc.line.ID, from, to), from, to))
	}()
	m, err := h.counts(ctx, lc, from, to)
	<-done
	if err != nil {
		return OEEReport{}, loss.Input{}, err
	}
	if serr != nil {
		return OEEReport{}, loss.Input{}, serr
	}
	ms, err := h.microIn(ctx, lc, from, to)
	if err != nil {
		return OEEReport{}, loss.Input{}, err
	}
	rep := lc.report(sp, m, from, to)
	ms.set(&rep)
	return rep, lc.lossInput(sp, m, startup, ms.d), nil
}

// startsOf is where start-up windows open: shift starts and the ends of stops.
func startsOf(sp stopSet, line int64, from, to time.Time) []time.Time {
	var starts []time.Time
	for _, ins := range sp.cal.Instances(line, from, to) {
		starts = append(starts, ins.Start)
	}
	for _, ev := range sp.evs {
		if ev.End != nil {
			starts = append(starts, *ev.End)
		}
	}
	return starts
}

// stopSet is what OEE and losses read over a range: the planned intervals and the booked
// events, each with its planned production time inside the range.
type stopSet struct {
	cal         *shiftcal.Calendar
	planned     []shiftcal.Interval
	plannedTime time.Duration
	evs         []store.DowntimeEvent // every event overlapping the range
	stops       []clippedStop         // the events with planned time in the range
	// unmonitored is planned time before the range's first data that no event covers
	// (docs/OEE.md): outside A/P/Q.
	unmonitored time.Duration
	// changeover: the events between runs of different products (History.classify; the
	// OEE does not need it: a changeover is downtime like any unplanned stop).
	changeover map[int64]bool
}

// classify marks the changeovers among the stops.
func (h *History) classify(ctx context.Context, lc lineCtx, sp *stopSet) error {
	evs := make([]store.DowntimeEvent, 0, len(sp.stops))
	for _, st := range sp.stops {
		evs = append(evs, st.ev)
	}
	var err error
	sp.changeover, err = h.changeovers(ctx, lc, evs)
	return err
}

// stopKind is what a stop counts as: planned (coded with a planned reason), changeover
// (between runs of different products, not coded planned), or unplanned.
func (lc lineCtx) stopKind(sp stopSet, ev store.DowntimeEvent) string {
	switch {
	case lc.failures[ev.ReasonCode].Planned():
		return store.ReasonPlanned
	case sp.changeover[ev.ID]:
		return KindChangeover
	}
	return store.ReasonUnplanned
}

// KindChangeover is the kind of a stop between runs of different products, and its
// Pareto key (reason and category groups).
const KindChangeover = loss.KindChangeover

type clippedStop struct {
	ev store.DowntimeEvent
	d  time.Duration // its planned production time in the range (an open event runs until now)
}

func (h *History) stopsIn(ctx context.Context, lc lineCtx, from, to time.Time) (stopSet, error) {
	cal, err := lc.calendar()
	if err != nil {
		return stopSet{}, err
	}
	sp := stopSet{cal: cal, planned: cal.PlannedIntervals(lc.line.ID, from, to)}
	for _, iv := range sp.planned {
		sp.plannedTime += iv.End.Sub(iv.Start)
	}
	if sp.evs, err = lc.tdb.DowntimeBetween(ctx, lc.line.ID, from, to); err != nil {
		return stopSet{}, err
	}
	first, err := h.firstData(ctx, lc, from, to)
	if err != nil {
		return stopSet{}, err
	}
	now := h.now()
	for _, ev := range sp.evs {
		if d := PlannedOverlap(ev.Start, eventEnd(ev, now), sp.planned); d > 0 {
			sp.stops = append(sp.stops, clippedStop{ev, d})
		}
	}
	sp.setUnmonitored(from, first, now)
	return sp, nil
}

// setUnmonitored sets the planned time in [from, first) that no event covers (docs/OEE.md);
// first is where the range's data begins (History.firstData).
func (sp *stopSet) setUnmonitored(from, first, now time.Time) {
	var lead time.Duration // event time before the first data: monitored, not unmonitored
	for _, ev := range sp.evs {
		lead += PlannedOverlap(ev.Start, earlier(eventEnd(ev, now), first), sp.planned)
	}
	sp.unmonitored = max(PlannedOverlap(from, first, sp.planned)-lead, 0)
}

// StartupWindow is how long after a shift start or the end of a stop rejects count as
// start-up rejects (whole minutes of the rollups starting inside it).
const StartupWindow = 5 * time.Minute

// lossInput is the waterfall's input from what oee reads, the start-up rejects (by product) and
// the time lost to micro-stops.
func (lc lineCtx) lossInput(sp stopSet, m made, startup map[int64]int64, micro time.Duration) loss.Input {
	in := loss.Input{Planned: sp.plannedTime, Unmonitored: sp.unmonitored, MicroStops: micro}
	var plannedParts, unplannedParts loss.PartSet
	for _, st := range sp.stops {
		f := lc.failures[st.ev.ReasonCode]
		switch lc.stopKind(sp, st.ev) {
		case store.ReasonPlanned:
			plannedParts.Add(f.Code, f.Name, st.d)
		case KindChangeover:
			in.Changeover += st.d
		default:
			cat := category(lc.failures, st.ev.ReasonCode)
			unplannedParts.Add(cat.Code, cat.Name, st.d)
		}
	}
	in.PlannedStops, in.UnplannedStops = plannedParts.Parts(), unplannedParts.Parts()
	in.IdealTotal = m.net
	for p, n := range startup {
		in.IdealStartup += oee.NetRun(lc.ideal(p), n)
	}
	in.IdealProcess = m.rejectIdeal - in.IdealStartup
	return in
}

// counts is the production of the whole minutes overlapping [from, to), by product. The
// groups are summed, so the largest step reads the fewest rows whatever the alignment.
func (h *History) counts(ctx context.Context, lc lineCtx, from, to time.Time) (made, error) {
	rows, err := h.productionByProduct(ctx, lc, from, to, store.ProductionSteps[len(store.ProductionSteps)-1])
	if err != nil {
		return made{}, err
	}
	var m made
	for _, r := range rows {
		m.add(lc, r)
	}
	return m, nil
}

// startupMinutes are the whole minutes whose start lies in a start-up window (from the
// minute of a start to StartupWindow after it), inside the minutes of [from, to), merged.
func startupMinutes(starts []time.Time, from, to time.Time) []store.MinuteRange {
	lo, hi := minuteOf(from, false), minuteOf(to, true)
	out := make([]store.MinuteRange, 0, len(starts))
	for _, s := range starts {
		out = append(out, store.MinuteRange{From: max(minuteOf(s, false), lo), To: min(minuteOf(s.Add(StartupWindow), true), hi)})
	}
	return store.MergeRanges(out)
}

// minuteOf is t in Unix minutes, rounded down (or up).
func minuteOf(t time.Time, up bool) int64 {
	m := t.Unix() / 60
	if t.Unix()%60 < 0 {
		m--
	}
	if up && time.Unix(m*60, 0).Before(t) {
		m++
	}
	return m
}

func (h *History) rejectsIn(ctx context.Context, lc lineCtx, ranges []store.MinuteRange) (map[int64]int64, error) {
	if h.raw {
		return lc.tdb.RejectsInRaw(ctx, lc.line.ID, ranges)
	}
	return lc.tdb.RejectsInRollup(ctx, lc.line.ID, ranges)
}

// category is the root of a reason's tree (the reason itself when it has no parent); an
// unknown or empty code is the uncoded category.
func category(failures map[string]store.Failure, code string) store.Failure {
	f, ok := failures[code]
	if !ok {
		return store.Failure{Code: loss.Uncoded}
	}
	byID := func(id int64) (store.Failure, bool) {
		for _, g := range failures {
			if g.ID == id {
				return g, true
			}
		}
		return store.Failure{}, false
	}
	for depth := 1; f.ParentID != 0 && depth < store.MaxReasonDepth+2; depth++ {
		p, ok := byID(f.ParentID)
		if !ok {
			break
		}
		f = p
	}
	return f
}

// Pareto groups.
const (
	GroupReason   = "reason"
	GroupCategory = "category"
	GroupLine     = "line"
	GroupShift    = "shift"
)

// MaxParetoLines bounds the lines of one Pareto or plant waterfall.
const MaxParetoLines = 200

// Pareto groups the stops of lines over [from, to) by reason, category (the root of the
// reason tree), line or shift, longest total first. A stop counts with its planned
// production time inside the range, as in OEE; a stop across two shift instances counts in
// each with its part. Planned-reason stops are included (they are stops).
func (h *History) Pareto(ctx context.Context, tenantID int64, lines []int64, from, to time.Time, group string) (loss.Pareto, error) {
	if err := checkRange(from, to); err != nil {
		return loss.Pareto{}, err
	}
	switch group {
	case GroupReason, GroupCategory, GroupLine, GroupShift:
	default:
		return loss.Pareto{}, invalid("pareto_query", "group", fmt.Sprintf("unknown group %q: use reason, category, line or shift", group))
	}
	if len(lines) > MaxParetoLines {
		return loss.Pareto{}, invalid("pareto_query", "lines", fmt.Sprintf("at most %d lines", MaxParetoLines))
	}
	now := h.now()
	var stops []loss.Stop
	for _, id := range lines {
		lc, err := h.lineCtx(ctx, tenantID, id)
		if err != nil {
			return loss.Pareto{}, err
		}
		sp, err := h.stopsIn(ctx, lc, from, to)
		if err != nil {
			return loss.Pareto{}, err
		}
		if err := h.classify(ctx, lc, &sp); err != nil {
			return loss.Pareto{}, err
		}
		if group == GroupShift {
			stops = append(stops, byInstance(lc, sp, id, from, to, now)...)
			continue
		}
		for _, st := range sp.stops {
			kind := lc.stopKind(sp, st.ev)
			s := loss.Stop{Duration: st.d, Uncoded: uncoded(kind, st.ev)}
			switch {
			case kind == KindChangeover && (group == GroupReason || group == GroupCategory):
				s.Key, s.Label = KindChangeover, "Changeover"
			case group == GroupReason:
				s.Key, s.Label = st.ev.ReasonCode, lc.failures[st.ev.ReasonCode].Name
			case group == GroupCategory:
				f := category(lc.failures, st.ev.ReasonCode)
				s.Key, s.Label = f.Code, f.Name
			case group == GroupLine:
				s.Key, s.Label = strconv.FormatInt(id, 10), lc.line.Name
			}
			stops = append(stops, s)
		}
	}
	return loss.MakePareto(stops), nil
}

// uncoded says a stop still needs a reason: not coded, and not explained as a changeover.
func uncoded(kind string, ev store.DowntimeEvent) bool {
	return ev.ReasonCode == "" && kind != KindChangeover
}

// byInstance splits stops by the shift instance their planned time falls in (by shift).
func byInstance(lc lineCtx, sp stopSet, line int64, from, to, now time.Time) []loss.Stop {
	var out []loss.Stop
	for _, in := range sp.cal.Instances(line, from, to) {
		ivs := sp.cal.PlannedIntervals(line, later(in.Start, from), earlier(in.End, to))
		for _, st := range sp.stops {
			if d := PlannedOverlap(st.ev.Start, eventEnd(st.ev, now), ivs); d > 0 {
				out = append(out, loss.Stop{Key: strconv.FormatInt(in.ShiftID, 10), Label: in.Name, Duration: d, Uncoded: uncoded(lc.stopKind(sp, st.ev), st.ev)})
			}
		}
	}
	return out
}

// Stop is a booked downtime event with what the loss analysis makes of it.
type Stop struct {
	store.DowntimeEvent
	CountedS   float64 `json:"counted_s"` // its planned production time inside the range
	ReasonName string  `json:"reason_name"`
	Category   string  `json:"category"` // the code at the root of its reason's tree
	Kind       string  `json:"kind"`     // unplanned, changeover (between runs of different products), or planned (outside OEE's planned time)
}

// Stops lists the events of a line overlapping [from, to) with their counted time: the
// counted times of planned-reason stops add up to the OEE's planned_stop_s, the others to
// its downtime_s.
func (h *History) Stops(ctx context.Context, tenantID, lineID int64, from, to time.Time) ([]Stop, error) {
	if err := checkRange(from, to); err != nil {
		return nil, err
	}
	lc, err := h.lineCtx(ctx, tenantID, lineID)
	if err != nil {
		return nil, err
	}
	sp, err := h.stopsIn(ctx, lc, from, to)
	if err != nil {
		return nil, err
	}
	if err := h.classify(ctx, lc, &sp); err != nil {
		return nil, err
	}
	counted := map[int64]time.Duration{}
	for _, st := range sp.stops {
		counted[st.ev.ID] = st.d
	}
	out := make([]Stop, 0, len(sp.evs))
	for _, ev := range sp.evs {
		out = append(out, Stop{DowntimeEvent: ev, CountedS: counted[ev.ID].Seconds(), ReasonName: lc.failures[ev.ReasonCode].Name,
			Category: category(lc.failures, ev.ReasonCode).Code, Kind: lc.stopKind(sp, ev)})
	}
	return out, nil
}
