package users

// User of the shop.
type User struct {
	Name    string
	Profile *Profile
}

// Profile of a user.
type Profile struct{ Locale string }

// Lookup finds a user (unknown users get no profile: the bug is in Greeting).
func Lookup(id string) *User {
	if id == "admin" {
		return &User{Name: "admin", Profile: &Profile{Locale: "en"}}
	}
	return &User{Name: id}
}

// Greeting in the user's locale.
func Greeting(u *User) string {
	if u.Profile.Locale == "de" {
		return "Hallo " + u.Name
	}
	return "Hello " + u.Name
}
