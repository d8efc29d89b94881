package web

import (
	"errors"
	"net/http"

	"github.com/linepulse/linepulse/store"
)

// Shifts: the shift calendar in the tenant's time zone. line_id 0 is a shift of every
// line. Every change is checked against the tenant's whole calendar (overlaps, breaks,
// days) by the ShiftValidator before it is saved.
func (a *API) shiftRoutes() []*Route {
	return crud(spec[store.Shift]{path: "/api/v1/shifts", tag: "shifts", entity: "shift", read: ActPlantRead, write: ActPlantWrite, byLine: true,
		id: func(v *store.Shift) *int64 { return &v.ID }, line: lineField(func(v *store.Shift) int64 { return v.LineID }),
		init: func(v *store.Shift) { v.Active = true }, prepare: a.checkShift},
		collectionOps(func(t *store.TenantDB) store.Collection[store.Shift, *store.Shift] { return t.Shifts }))
}

func (a *API) checkShift(c *call, v, old *store.Shift) error {
	if err := c.lineExists("line_id", v.LineID); err != nil {
		return err
	}
	if a.deps.ValidateShifts == nil {
		return nil
	}
	t, err := c.tenant()
	if err != nil {
		return err
	}
	all, err := t.Shifts.All(c.r.Context())
	if err != nil {
		return err
	}
	cand := *v
	if len(cand.DaysImplemented) == 0 {
		cand.DaysImplemented = store.JSON("[1,2,3,4,5,6,7]")
	}
	if len(cand.Breaks) == 0 {
		cand.Breaks = store.JSON("[]")
	}
	set := make([]store.Shift, 0, len(all)+1)
	for _, s := range all {
		if old == nil || s.ID != old.ID {
			set = append(set, s)
		}
	}
	set = append(set, cand)
	if err := a.deps.ValidateShifts(t.Tenant().Config.Timezone, set); err != nil {
		var ve *store.ValidationError
		if errors.As(err, &ve) {
			return ve
		}
		return &apiError{status: http.StatusBadRequest, code: CodeValidation, msg: err.Error(),
			fields: []store.FieldError{{Field: "shift", Message: err.Error()}}}
	}
	return nil
}
