package ui

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/web"
)

// Boards picks the dashboard template a page shows (*web.API implements it). When the
// Viewers of the Config also implement Boards, the dashboard, /tv and /dashboards/{id}
// render the applicable template widget by widget; otherwise they show the default tiles.
type Boards interface {
	ViewerDashboard(ctx context.Context, v web.Viewer, id int64) (web.DashboardView, bool, error)
}

// boardData is a dashboard template as its template renders it.
type boardData struct {
	ID      int64
	Name    string
	Widgets []boardWidget
}

// boardWidget is one widget: its catalogue type, the grid classes of its size (app.css
// .lp-span-N / .lp-rows-N) and its params for the widget's script.
type boardWidget struct {
	Type    string
	Title   string
	LineID  int64
	Params  string // JSON
	Span    int    // of 12 columns
	Rows    int
	Problem string // i18n key when it cannot be shown
}

func newBoard(d web.DashboardView) *boardData {
	b := &boardData{ID: d.ID, Name: d.Name}
	cols := max(d.Columns, 1)
	for _, w := range d.Widgets {
		var p struct {
			Title string `json:"title"`
		}
		json.Unmarshal(w.Params, &p)
		bw := boardWidget{Type: w.WidgetType, Title: p.Title, LineID: w.LineID, Params: string(w.Params),
			Span: min(max((w.W*12+cols/2)/cols, 1), 12), Rows: min(max(w.H, 1), 8)}
		if w.Problem != "" {
			bw.Problem = "widget.problem." + w.Problem
		}
		b.Widgets = append(b.Widgets, bw)
	}
	return b
}

// board finds the dashboard of a page request: id > 0 that one, else the one that applies
// to the viewer. Nil without an error: none applies (or the UI cannot tell).
func (q *req) board(id int64) (*boardData, error) {
	bs, ok := q.u.cfg.Viewers.(Boards)
	if !ok || q.viewer == nil {
		if id != 0 {
			return nil, store.ErrNotFound
		}
		return nil, nil
	}
	d, found, err := bs.ViewerDashboard(q.r.Context(), *q.viewer, id)
	if err != nil || !found {
		return nil, err
	}
	return newBoard(d), nil
}

// boardPage serves /dashboards/{id}: one dashboard template, live.
func (u *UI) boardPage(w http.ResponseWriter, r *http.Request) {
	rq, id := u.beginID(w, r)
	if id == 0 {
		return
	}
	b, err := rq.board(id)
	if errors.Is(err, store.ErrNotFound) && rq.viewer == nil {
		// Signed out: render the page anyway; its script refreshes the session or signs in.
		rq.render(http.StatusOK, "board", rq.data("board", "page.board"))
		return
	}
	if err != nil {
		rq.boardError(err)
		return
	}
	d := rq.data("board", "page.board")
	d.Board = b
	d.Title = b.Name
	rq.render(http.StatusOK, "board", d)
}

func (q *req) boardError(err error) {
	if errors.Is(err, store.ErrNotFound) {
		q.notFound()
		return
	}
	q.u.cfg.Logger.Error("ui: cannot load dashboard", "err", err)
	q.fail(http.StatusInternalServerError, "page.board_error", q.t("board.load_failed"))
}

// boardsPage serves /dashboards (the list) and /dashboards/{id}/edit (the grid editor);
// their scripts read and save the templates through the API.
func (u *UI) boardsPage(edit bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var rq *req
		var id int64
		if edit {
			if rq, id = u.beginID(w, r); id == 0 {
				return
			}
		} else if rq = u.begin(w, r, ""); rq == nil {
			return
		}
		page, action := "dashboards", web.ActDashboardsRead
		if edit {
			page, action = "boardedit", web.ActDashboardsWrite
		}
		if rq.viewer != nil && !rq.viewer.Can(action) {
			rq.fail(http.StatusForbidden, "page.forbidden", rq.t("error.forbidden_screen"))
			return
		}
		d := rq.data(page, "page."+page)
		d.BoardID = id
		d.Roles = map[string]string{}
		for _, role := range store.Roles {
			if role != store.RolePlatformAdmin {
				d.Roles[role] = rq.t("role." + role)
			}
		}
		rq.render(http.StatusOK, page, d)
	}
}

// mapPage serves /map: the plant map widget over the whole page (every area), and the
// floor-plan upload for those who may change the plant model.
func (u *UI) mapPage(w http.ResponseWriter, r *http.Request) {
	rq := u.begin(w, r, "")
	if rq == nil {
		return
	}
	d := rq.data("map", "page.map")
	d.Board = &boardData{Name: rq.t("page.map"), Widgets: []boardWidget{{Type: "plant_map", Params: "{}", Span: 12, Rows: 4}}}
	rq.render(http.StatusOK, "map", d)
}
