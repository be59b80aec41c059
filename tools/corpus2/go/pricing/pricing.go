package pricing

var tiers = []int{0, 5, 10}

// Discount for a tier (tiers beyond the table: the bug).
func Discount(tier int, amount int) int {
	return amount * tiers[tier] / 100
}

// Quote prices a basket.
func Quote(amounts []int, tier int) int {
	total := 0
	for _, a := range amounts {
		total += a - Discount(tier, a)
	}
	return total
}
