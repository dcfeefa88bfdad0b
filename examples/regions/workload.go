package main

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/converge-go/converge/merge/sim"
)

// The four regions, in the order that numbers their server nodes (0–3)
// and their client nodes (4–7).
var regionNames = [nRegions]string{sim.USEast, sim.USWest, sim.EUWest, sim.APSouth}

const (
	nRegions = 4
	usEast   = 0
	usWest   = 1
	euWest   = 2
	apSouth  = 3
)

// The workload's shape. Every figure is per design: the seven designs
// play the very same list of operations.
const (
	usersPerRegion  = 40
	nUsers          = nRegions * usersPerRegion
	travellersShare = 0.10 // of each region's users
	nFields         = 2    // name, email
	nSKUs           = 12   // the catalogue a user's cart draws from
	nPosts          = 40   // 10 authored in each region
	writeRate       = 0.4  // writes per user per second (Poisson)
	readRate        = 0.4  // reads per user per second (Poisson)
	likeShare       = 0.5  // of writes; carts 0.3, profiles 0.2
	cartShare       = 0.3
)

var fieldNames = [nFields]string{"name", "email"}

// Items are numbered densely: profile fields, then cart lines (a user and
// a SKU: in the cart or not), then the posts' like counters.
const (
	firstCart = nUsers * nFields
	firstLike = firstCart + nUsers*nSKUs
	nItems    = firstLike + nPosts
)

type itemKind uint8

const (
	profileItem itemKind = iota
	cartItem
	likeItem
)

func profileOf(user, field int) int32 { return int32(user*nFields + field) }
func cartOf(user, sku int) int32      { return int32(firstCart + user*nSKUs + sku) }
func likeOf(post int) int32           { return int32(firstLike + post) }

func kindOf(item int32) itemKind {
	switch {
	case item < firstCart:
		return profileItem
	case item < firstLike:
		return cartItem
	}
	return likeItem
}

// userOf returns the user a profile field or cart line belongs to.
func userOf(item int32) int {
	if item < firstCart {
		return int(item) / nFields
	}
	return int(item-firstCart) / nSKUs
}

func homeOf(user int) int   { return user / usersPerRegion }
func postHome(post int) int { return post % nRegions }

// ownerOf returns the region that owns an item: the user's home region
// for profiles and carts, the author's for a post's likes. Only the
// regional-primary design uses it.
func ownerOf(item int32) int {
	if kindOf(item) == likeItem {
		return postHome(int(item - firstLike))
	}
	return homeOf(userOf(item))
}

// Names as the CRDT design keys its maps.
func userName(u int) string { return "u" + strconv.Itoa(u) }
func skuName(s int) string  { return "s" + strconv.Itoa(s) }

type opKind uint8

const (
	opRead opKind = iota
	opProfile
	opCartAdd
	opCartRemove
	opLike
)

// An op is one request of the workload: a user, where they are, what
// they do to which item.
type op struct {
	at   time.Duration
	user int16
	loc  int8 // the region the user is in: home, or the trip's
	kind opKind
	item int32
}

// A trip takes a user to another region for a while.
type trip struct {
	user       int
	to         int
	start, end time.Duration
}

// A workload is the list of operations every design plays, in time order.
type workload struct {
	ops    []op
	trips  []trip
	writes int
	reads  int
}

// newWorkload draws the operations of duration d from seed. Each user
// writes and reads at Poisson rates; a write likes a post (50%, posts
// drawn by Zipf popularity, so a few are hot), adds or removes a cart
// line (30%) or sets a profile field (20%); a read looks at a post's like
// count (40%), someone's profile field (30%) or a line of the user's own
// cart (30%). A tenth of each region's users take a trip to another
// region, from which they work meanwhile.
func newWorkload(seed uint64, d time.Duration) *workload {
	rng := rand.New(rand.NewPCG(seed, 0x726567696f6e73)) // "regions"
	wl := &workload{}
	// Zipf weights over posts: post p has popularity 1/(p+1); posts are
	// homed round-robin, so each region authors some hot ones.
	cum := make([]float64, nPosts)
	total := 0.0
	for p := range nPosts {
		total += 1 / float64(p+1)
		cum[p] = total
	}
	post := func() int {
		x := rng.Float64() * total
		i, _ := slices.BinarySearch(cum, x)
		return min(i, nPosts-1)
	}
	secs := d.Seconds()
	for u := range nUsers {
		home := homeOf(u)
		tr := trip{user: u, to: home, start: -1, end: -1}
		if u%usersPerRegion < int(math.Round(travellersShare*usersPerRegion)) {
			tr.to = (home + 1 + rng.IntN(nRegions-1)) % nRegions
			tr.start = time.Duration(rng.Float64() * 0.75 * float64(d))
			tr.end = tr.start + time.Duration((0.1+0.15*rng.Float64())*float64(d))
			wl.trips = append(wl.trips, tr)
		}
		loc := func(t time.Duration) int8 {
			if t >= tr.start && t < tr.end {
				return int8(tr.to)
			}
			return int8(home)
		}
		var cart []int    // the lines the user means to have, by their own writes
		var touched []int // the lines the user ever wrote to: reads look at them
		// Writes and reads are two independent Poisson processes.
		for t := rng.ExpFloat64() / writeRate; t < secs; t += rng.ExpFloat64() / writeRate {
			at := time.Duration(t * float64(time.Second))
			o := op{at: at, user: int16(u), loc: loc(at)}
			switch x := rng.Float64(); {
			case x < likeShare:
				o.kind, o.item = opLike, likeOf(post())
			case x < likeShare+cartShare:
				if len(cart) > 0 && rng.IntN(2*nSKUs/3) < len(cart) {
					i := rng.IntN(len(cart))
					o.kind, o.item = opCartRemove, cartOf(u, cart[i])
					cart = slices.Delete(cart, i, i+1)
				} else {
					sku := rng.IntN(nSKUs)
					o.kind, o.item = opCartAdd, cartOf(u, sku)
					if !slices.Contains(cart, sku) {
						cart = append(cart, sku)
					}
					if !slices.Contains(touched, sku) {
						touched = append(touched, sku)
					}
				}
			default:
				o.kind, o.item = opProfile, profileOf(u, rng.IntN(nFields))
			}
			wl.ops = append(wl.ops, o)
			wl.writes++
		}
		for t := rng.ExpFloat64() / readRate; t < secs; t += rng.ExpFloat64() / readRate {
			at := time.Duration(t * float64(time.Second))
			o := op{at: at, user: int16(u), loc: loc(at), kind: opRead}
			switch x := rng.Float64(); {
			case x < 0.4:
				o.item = likeOf(post())
			case x < 0.7 || len(touched) == 0:
				o.item = profileOf(rng.IntN(nUsers), rng.IntN(nFields))
			default:
				o.item = cartOf(u, touched[rng.IntN(len(touched))])
			}
			wl.ops = append(wl.ops, o)
			wl.reads++
		}
	}
	slices.SortStableFunc(wl.ops, func(a, b op) int { return cmp.Compare(a.at, b.at) })
	return wl
}
