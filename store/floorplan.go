package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// FloorPlan is the image under a tenant's plant map: PNG, JPEG or (sanitised) SVG, with
// its size in map units (the unit of the areas' coordinates).
type FloorPlan struct {
	ContentType string    `json:"content_type"`
	Width       float64   `json:"width"`
	Height      float64   `json:"height"`
	Data        []byte    `json:"-"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// GetFloorPlan reads the tenant's floor plan; ErrNotFound when it has none.
func (t *TenantDB) GetFloorPlan(ctx context.Context) (FloorPlan, error) {
	var f FloorPlan
	err := t.db.QueryRowContext(ctx, "SELECT `content_type`, `width`, `height`, `data`, `updated_at` FROM `floor_plan` WHERE `id` = 1").
		Scan(&f.ContentType, &f.Width, &f.Height, &f.Data, &f.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return FloorPlan{}, fmt.Errorf("store: floor plan: %w", ErrNotFound)
	}
	if err != nil {
		return FloorPlan{}, fmt.Errorf("store: cannot read the floor plan: %w", err)
	}
	f.UpdatedAt = f.UpdatedAt.UTC()
	return f, nil
}

// PutFloorPlan replaces the tenant's floor plan.
func (t *TenantDB) PutFloorPlan(ctx context.Context, f *FloorPlan) error {
	if f.ContentType == "" || len(f.Data) == 0 || !(f.Width > 0) || !(f.Height > 0) {
		return &ValidationError{Entity: "floor plan", Fields: []FieldError{{Field: "data", Message: "needs a content type, data and a positive size"}}}
	}
	f.UpdatedAt = t.s.now()
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: cannot save the floor plan: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "DELETE FROM `floor_plan` WHERE `id` = 1"); err != nil {
		return fmt.Errorf("store: cannot save the floor plan: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO `floor_plan` (`id`, `content_type`, `width`, `height`, `data`, `updated_at`) VALUES (1, ?, ?, ?, ?, ?)",
		f.ContentType, f.Width, f.Height, f.Data, f.UpdatedAt); err != nil {
		return fmt.Errorf("store: cannot save the floor plan: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: cannot save the floor plan: %w", err)
	}
	return nil
}

// DeleteFloorPlan removes the tenant's floor plan; ErrNotFound when it had none.
func (t *TenantDB) DeleteFloorPlan(ctx context.Context) error {
	res, err := t.db.ExecContext(ctx, "DELETE FROM `floor_plan` WHERE `id` = 1")
	if err != nil {
		return fmt.Errorf("store: cannot delete the floor plan: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: floor plan: %w", ErrNotFound)
	}
	return nil
}
