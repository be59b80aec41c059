package checkout

import "errors"

// Validate a basket.
func Validate(items []string) error {
	if len(items) == 0 {
		return errors.New("cart is empty")
	}
	return nil
}
