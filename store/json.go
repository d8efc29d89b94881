package store

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
)

// JSON is a raw JSON document stored in a JSON (MySQL) or TEXT (SQLite) column.
// An empty value is stored as JSON null.
type JSON json.RawMessage

// Value implements driver.Valuer.
func (j JSON) Value() (driver.Value, error) {
	if len(j) == 0 {
		return "null", nil
	}
	if !json.Valid(j) {
		return nil, fmt.Errorf("store: invalid JSON value")
	}
	return string(j), nil
}

// Scan implements sql.Scanner.
func (j *JSON) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*j = nil
	case []byte:
		*j = append((*j)[:0], v...)
	case string:
		*j = JSON(v)
	default:
		return fmt.Errorf("store: cannot scan %T into JSON", src)
	}
	return nil
}

// MarshalJSON keeps the raw document.
func (j JSON) MarshalJSON() ([]byte, error) {
	if len(j) == 0 {
		return []byte("null"), nil
	}
	return j, nil
}

// UnmarshalJSON copies the raw document.
func (j *JSON) UnmarshalJSON(b []byte) error {
	*j = append((*j)[:0], b...)
	return nil
}

// jsonOf marshals v for a JSON column; typed documents (permissions, config) go through it.
type jsonCol[T any] struct{ v *T }

func (c jsonCol[T]) Value() (driver.Value, error) {
	b, err := json.Marshal(c.v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func (c jsonCol[T]) Scan(src any) error {
	var raw JSON
	if err := raw.Scan(src); err != nil {
		return err
	}
	if len(raw) == 0 || string(raw) == "null" {
		var zero T
		*c.v = zero
		return nil
	}
	return json.Unmarshal(raw, c.v)
}

// asJSON adapts a typed field to a JSON column for both reading and writing.
func asJSON[T any](v *T) jsonCol[T] { return jsonCol[T]{v: v} }
