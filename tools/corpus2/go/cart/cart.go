package cart

// Cart of a user.
type Cart struct {
	Items map[string]int
	Owner string
}

// Load returns the user's cart (a fresh one without items: the bug).
func Load(owner string) *Cart {
	return &Cart{Owner: owner}
}

// AddItem adds qty of sku.
func (c *Cart) AddItem(sku string, qty int) {
	c.Items[sku] += qty
}
