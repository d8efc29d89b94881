package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"image"
	_ "image/jpeg" // floor plans may be JPEG
	_ "image/png"  // or PNG
	"net/http"

	"github.com/linepulse/linepulse/store"
)

// MaxFloorPlanBytes bounds an uploaded floor-plan image (before base64).
const MaxFloorPlanBytes = 2 << 20

const maxFloorPlanPixels = 10000

// FloorPlanInput is the body of PUT /api/v1/floorplan: the image, base64-encoded.
type FloorPlanInput struct {
	ContentType string `json:"content_type"` // image/png, image/jpeg or image/svg+xml
	Data        string `json:"data"`         // base64 (standard), at most MaxFloorPlanBytes decoded
}

// FloorPlanView answers GET /api/v1/floorplan: the image as a data: URL (pages draw it
// under the plant map's areas; width and height are its size in map units: pixels, or
// an SVG's viewBox).
type FloorPlanView struct {
	store.FloorPlan
	DataURL string `json:"data_url"`
	ETag    string `json:"etag"`
}

// Floor plan: one image per tenant under the plant map. SVGs are sanitised (SanitizeSVG);
// PNG and JPEG must decode. Changes are audited (without the image).
func (a *API) floorPlanRoutes() []*Route {
	p := "/api/v1/floorplan"
	return []*Route{
		{Method: "GET", Path: p, Summary: "The plant map's floor plan (404 when none)", Tag: "floorplan", Resource: "floorplan", Action: ActPlantRead,
			Resp: FloorPlanView{}, handle: a.handleGetFloorPlan},
		{Method: "PUT", Path: p, Summary: "Upload the floor plan: PNG, JPEG or SVG (sanitised), at most 2 MiB", Tag: "floorplan", Resource: "floorplan", Action: ActPlantWrite,
			Body: FloorPlanInput{}, Resp: FloorPlanView{}, MaxBody: MaxFloorPlanBytes*4/3 + 4096, handle: a.handlePutFloorPlan},
		{Method: "DELETE", Path: p, Summary: "Remove the floor plan", Tag: "floorplan", Resource: "floorplan", Action: ActPlantWrite, handle: a.handleDeleteFloorPlan},
	}
}

func floorPlanView(f store.FloorPlan) FloorPlanView {
	sum := sha256.Sum256(f.Data)
	return FloorPlanView{FloorPlan: f, ETag: hex.EncodeToString(sum[:8]),
		DataURL: "data:" + f.ContentType + ";base64," + base64.StdEncoding.EncodeToString(f.Data)}
}

func (a *API) handleGetFloorPlan(c *call) error {
	t, err := c.tenant()
	if err != nil {
		return err
	}
	f, err := t.GetFloorPlan(c.r.Context())
	if err != nil {
		return err
	}
	return c.reply(floorPlanView(f))
}

func (a *API) handlePutFloorPlan(c *call) error {
	var in FloorPlanInput
	if err := c.decode(&in); err != nil {
		return err
	}
	f, err := checkFloorPlan(in)
	if err != nil {
		return err
	}
	t, err := c.tenant()
	if err != nil {
		return err
	}
	if err := t.PutFloorPlan(c.r.Context(), &f); err != nil {
		return err
	}
	v := floorPlanView(f)
	c.auditChange("floorplan.put", 1, nil, map[string]any{"content_type": f.ContentType, "width": f.Width, "height": f.Height, "bytes": len(f.Data), "etag": v.ETag})
	return c.reply(v)
}

func (a *API) handleDeleteFloorPlan(c *call) error {
	t, err := c.tenant()
	if err != nil {
		return err
	}
	if err := t.DeleteFloorPlan(c.r.Context()); err != nil {
		return err
	}
	c.auditChange("floorplan.delete", 1, nil, nil)
	return c.reply(nil)
}

// checkFloorPlan decodes and checks an upload: its type, size and content.
func checkFloorPlan(in FloorPlanInput) (store.FloorPlan, error) {
	data, err := base64.StdEncoding.DecodeString(in.Data)
	switch {
	case err != nil:
		return store.FloorPlan{}, fieldErr("data", "must be base64")
	case len(data) == 0:
		return store.FloorPlan{}, fieldErr("data", "is required")
	case len(data) > MaxFloorPlanBytes:
		return store.FloorPlan{}, errf(http.StatusRequestEntityTooLarge, CodeTooLarge, "the image exceeds %d bytes", MaxFloorPlanBytes)
	}
	f := store.FloorPlan{ContentType: in.ContentType}
	switch in.ContentType {
	case "image/svg+xml":
		clean, w, h, err := SanitizeSVG(data)
		if err != nil {
			return f, fieldErr("data", "%s", err.Error())
		}
		f.Data, f.Width, f.Height = clean, w, h
	case "image/png", "image/jpeg":
		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || "image/"+format != in.ContentType {
			return f, fieldErr("data", "is not a %s image", in.ContentType)
		}
		if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxFloorPlanPixels || cfg.Height > maxFloorPlanPixels {
			return f, fieldErr("data", "the image must be 1 to %d pixels wide and high", maxFloorPlanPixels)
		}
		f.Data, f.Width, f.Height = data, float64(cfg.Width), float64(cfg.Height)
	default:
		return f, fieldErr("content_type", "must be image/png, image/jpeg or image/svg+xml")
	}
	return f, nil
}
