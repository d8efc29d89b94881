package store

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Callers test them with errors.Is; messages add the context.
var (
	// ErrNotFound: the row does not exist (or belongs to another tenant).
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique key (slug, email, code, ...) is already taken.
	ErrConflict = errors.New("already exists")
	// ErrSchemaTooNew: the database was migrated by a newer LinePulse than this binary.
	ErrSchemaTooNew = errors.New("database schema is newer than this binary")
	// ErrInvalid wraps every ValidationError.
	ErrInvalid = errors.New("invalid")
)

// ValidationError names the fields of an entity that failed validation.
type ValidationError struct {
	Entity string
	Fields []FieldError
}

// FieldError is one field-level validation message.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return fmt.Sprintf("invalid %s: %s", e.Entity, strings.Join(parts, "; "))
}

func (e *ValidationError) Unwrap() error { return ErrInvalid }

// validator collects field errors; err returns nil when there are none.
type validator struct {
	entity string
	fields []FieldError
}

func (v *validator) check(ok bool, field, msg string) {
	if !ok {
		v.fields = append(v.fields, FieldError{Field: field, Message: msg})
	}
}

func (v *validator) err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &ValidationError{Entity: v.entity, Fields: v.fields}
}
