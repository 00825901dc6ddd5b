package httpapi

import (
	"bytes"
	"sync"
	"time"

	"tidecast.dev/controlplane/internal/fleet"
)

// pageTTL is how long an encoded page may be served. Pages hold times
// (streams' live_ms, clients' alive), so they are rendered at the start of
// a pageTTL tick and reused within it: under load a page is encoded at most
// once per tick and view version, however many requests read it.
const pageTTL = 100 * time.Millisecond

// maxPages bounds the pages kept per tick and version; past it, pages are
// encoded per request (a client walking every start/count pair).
const maxPages = 256

// pageGen identifies what a cached page was rendered from.
type pageGen struct {
	version uint64 // fleet.View.Version
	tick    int64  // time in pageTTLs
}

func (g pageGen) after(o pageGen) bool {
	return g.version > o.version || g.version == o.version && g.tick > o.tick
}

type pageKey struct {
	list         string
	start, count int
}

// pageCache holds the encoded list pages of the newest generation seen.
type pageCache struct {
	mu    sync.Mutex
	gen   pageGen
	pages map[pageKey][]byte
}

// get returns the page for key, encoding it with build when it is not
// held. Pages of an older generation than the cache's (a request that
// raced a newer view) are encoded but not kept.
func (c *pageCache) get(gen pageGen, key pageKey, build func(j *jsonw)) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen.after(c.gen) || c.pages == nil {
		c.gen = gen
		c.pages = make(map[pageKey][]byte)
	}
	if page, ok := c.pages[key]; ok && gen == c.gen {
		return page
	}
	j := getJSON()
	defer putJSON(j)
	j.more = true // the page follows the envelope's keys
	build(j)
	page := bytes.Clone(j.b)
	if gen == c.gen && len(c.pages) < maxPages {
		c.pages[key] = page
	}
	return page
}

// respondList answers a page of one of the view's lists (streams,
// clients) under key name: n elements, element i encoded by elem at the
// page's render time. start and count are SRS's (see query.page), and
// stable across replicas because the view's lists are sorted by id.
func (a *API) respondList(x *exchange, v *fleet.View, name string, n int, elem func(j *jsonw, i int, at time.Time)) {
	start, count := x.query.page()
	start = min(start, n)
	count = min(count, n-start) // every page past the end is the same empty one
	tick := a.clock().UnixNano() / int64(pageTTL)
	at := time.Unix(0, tick*int64(pageTTL))
	page := a.pages.get(pageGen{v.Version, tick}, pageKey{name, start, count}, func(j *jsonw) {
		j.arr(name)
		for i := range count {
			elem(j, start+i, at)
		}
		j.endArr()
		j.end()
	})
	a.respondPage(x, page)
}
