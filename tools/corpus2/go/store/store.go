package store

import (
	"errors"
	"fmt"
	"os"
	"strconv"
)

// ErrReadOnly is what a replica answers.
var ErrReadOnly = errors.New("database is read-only")

// Save writes an order (its failure is wrapped here: the bug is that Save has no fallback).
func Save(order int, cause string) error {
	var err error
	switch cause {
	case "path":
		_, err = os.Open("/nonexistent/orders/" + strconv.Itoa(order))
	case "readonly":
		err = ErrReadOnly
	default:
		_, err = strconv.Atoi(cause)
	}
	if err != nil {
		return fmt.Errorf("saving order %d: %w", order, err)
	}
	return nil
}
