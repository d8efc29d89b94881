package detection

import "time"

// Window is the range of timestamps ("at") a detection of one message may carry: from
// the tenant's retention horizon to MaxFuture after the message's stream time, both ends
// included. The only way to make one is WindowAt, so every consumer of a message judges
// it the same way.
type Window struct {
	oldest time.Time // zero: no retention horizon
	latest time.Time
}

// WindowAt is the validity rule. accepted is the message's stream time: the JetStream
// message timestamp, when LinePulse accepted the message (jetstream.MsgMetadata.Timestamp).
// It is never the clock of the code handling the message, so a writer running hours
// behind, a replay and the live engine all reach the same verdict on the same message.
// retentionDays is the tenant's retention (config_tenant.retention_days); 0 sets no
// horizon. The horizon counts calendar days in UTC.
func WindowAt(accepted time.Time, retentionDays int) Window {
	accepted = accepted.UTC()
	w := Window{latest: accepted.Add(MaxFuture)}
	if retentionDays > 0 {
		w.oldest = accepted.AddDate(0, 0, -retentionDays)
	}
	return w
}

// check returns why at lies outside the window (ReasonTooOld or ReasonInFuture with a
// detail), or "" when it lies inside.
func (w Window) check(at time.Time) (Reason, string) {
	switch {
	case at.Before(w.oldest):
		return ReasonTooOld, "at is older than the retention horizon"
	case at.After(w.latest):
		return ReasonInFuture, "at is more than the allowed margin in the future"
	}
	return "", ""
}
