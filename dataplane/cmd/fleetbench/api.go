package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// api talks to the control plane's HTTP API over kept-alive connections.
type api struct {
	base string
	hc   *http.Client
}

func newAPI(addr string) *api {
	return &api{base: "http://" + addr, hc: &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true},
	}}
}

// listedClient is what the benchmark reads of a client in the list.
type listedClient struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Type    string `json:"type"`
	Publish bool   `json:"publish"`
}

// clients reads one page of /api/v1/clients/.
func (a *api) clients(ctx context.Context, start, count int) ([]listedClient, error) {
	var doc struct {
		Code    int            `json:"code"`
		Clients []listedClient `json:"clients"`
	}
	if err := a.getJSON(ctx, fmt.Sprintf("/api/v1/clients/?start=%d&count=%d", start, count), &doc); err != nil {
		return nil, err
	}
	if doc.Code != 0 {
		return nil, fmt.Errorf("clients: code %d", doc.Code)
	}
	return doc.Clients, nil
}

// fleetClients sums the clients every worker reports.
func (a *api) fleetClients(ctx context.Context) (int, error) {
	var doc struct {
		Workers []struct {
			Clients int `json:"clients"`
		} `json:"workers"`
	}
	if err := a.getJSON(ctx, "/api/v1/workers/", &doc); err != nil {
		return 0, err
	}
	n := 0
	for _, w := range doc.Workers {
		n += w.Clients
	}
	return n, nil
}

// kick deletes a client and returns the code the API answered.
func (a *api) kick(ctx context.Context, id string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, a.base+"/api/v1/clients/"+id, nil)
	if err != nil {
		return 0, err
	}
	var doc struct {
		Code int `json:"code"`
	}
	return doc.Code, a.do(req, &doc)
}

// get fetches path and discards the body: for latency figures.
func (a *api) get(ctx context.Context, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+path, nil)
	if err != nil {
		return err
	}
	return a.do(req, nil)
}

func (a *api) getJSON(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+path, nil)
	if err != nil {
		return err
	}
	return a.do(req, out)
}

// do sends req and decodes the answer into out (nil: drain it), so the
// connection goes back to the pool.
func (a *api) do(req *http.Request, out any) error {
	res, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s", req.Method, req.URL.Path, res.Status)
	}
	if out == nil {
		_, err = io.Copy(io.Discard, res.Body)
		return err
	}
	return json.NewDecoder(res.Body).Decode(out)
}
