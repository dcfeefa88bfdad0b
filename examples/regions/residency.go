package main

// Data residency: EU-homed users' personal data — their profiles and
// carts — is to stay in eu-west. The regional design keeps it there (its
// home region takes every write to it, and its stream to the other
// regions carries no such data); every other design replicates it to
// every region.

// euPersonal reports whether item is an EU-homed user's personal data:
// a profile field or a cart line of a user homed in eu-west.
func euPersonal(item int32) bool {
	return kindOf(item) != likeItem && homeOf(userOf(item)) == euWest
}

// pinned reports whether the world's design keeps item in eu-west only.
func (w *world) pinned(item int32) bool { return w.design.pinEU && euPersonal(item) }

// recordBytes is the size of one write's data as a replication stream or
// a log carries it, whatever the design: the item's key, its value (a
// name or an email, 32 bytes; a cart line's flag, 1) and an 8-byte
// timestamp.
func recordBytes(item int32) int {
	switch kindOf(item) {
	case profileItem:
		return len(profileKey(item)) + 32 + 8
	case cartItem:
		user, sku := cartKey(item)
		return len(user) + 1 + len(sku) + 1 + 8
	}
	return len(postKey(item)) + 8 + 8
}
