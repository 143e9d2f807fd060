package awsapi

import (
	"context"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

type formTag struct{ Key, Value string }

type formInput struct {
	RoleName string
	Path     *string
	Max      int32  `query:"MaxItems"`
	Skip     string `query:"-"`
	Enabled  bool
	Ratio    float64
	When     time.Time
	Blob     []byte
	Tags     []formTag
	Names    []string
	IDs      []string `query:"Id,flat"`
	Attrs    map[string]string
	Policy   *struct {
		Name    string
		Version *int
	}
	unexported string
}

func TestDecodeForm(t *testing.T) {
	form, _ := url.ParseQuery("RoleName=r&Path=%2Fp%2F&MaxItems=7&Skip=x&Enabled=true&Ratio=0.5&When=2024-01-02T03:04:05Z&Blob=aGk%3D" +
		"&Tags.member.2.Key=b&Tags.member.2.Value=2&Tags.member.1.Key=a&Tags.member.1.Value=1&Tags.member.10.Key=c" +
		"&Names=&Id.2=i2&Id.1=i1&Attrs.entry.1.key=k&Attrs.entry.1.value=v&Policy.Name=pol&Policy.Version=3&unexported=no&Unknown=1")
	var got formInput
	if err := DecodeForm(form, &got); err != nil {
		t.Fatal(err)
	}
	path, version := "/p/", 3
	want := formInput{
		RoleName: "r", Path: &path, Max: 7, Enabled: true, Ratio: 0.5,
		When: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Blob: []byte("hi"),
		Tags:  []formTag{{"a", "1"}, {"b", "2"}, {"c", ""}},
		Names: []string{},
		IDs:   []string{"i1", "i2"},
		Attrs: map[string]string{"k": "v"},
		Policy: &struct {
			Name    string
			Version *int
		}{"pol", &version},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded\n%+v\nwant\n%+v", got, want)
	}

	var empty formInput
	if err := DecodeForm(url.Values{}, &empty); err != nil || !reflect.DeepEqual(empty, formInput{}) {
		t.Fatalf("empty form: %+v %v", empty, err)
	}
	for _, bad := range []string{"MaxItems=x", "MaxItems=99999999999", "Enabled=maybe", "When=yesterday", "Blob=!!", "Ratio=half"} {
		form, _ := url.ParseQuery(bad)
		err := DecodeForm(form, &formInput{})
		e, ok := AsError(err)
		if !ok || e.Code != "ValidationError" || e.Status != 400 {
			t.Errorf("%s: %v, want ValidationError", bad, err)
		}
	}
	if err := DecodeForm(url.Values{}, formInput{}); err == nil {
		t.Error("a non-pointer must be refused")
	}
}

func TestQueryResponseShape(t *testing.T) {
	s := &QueryService{SigningName: "sts", Version: "2011-06-15", Namespace: STSNamespace}
	type out struct {
		Account string
		Items   []string `xml:"Items>member"`
	}
	HandleQuery(s, "GetThing", func(ctx context.Context, in *struct{ Name string }) (*out, error) {
		return &out{Account: in.Name + "<&>", Items: []string{"a", "b"}}, nil
	})
	req := httptest.NewRequest("POST", "/", strings.NewReader("Action=GetThing&Version=2011-06-15&Name=n"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req = req.WithContext(WithRequestID(req.Context(), "req-1"))
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	want := `<GetThingResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetThingResult><Account>n&lt;&amp;&gt;</Account>` +
		`<Items><member>a</member><member>b</member></Items></GetThingResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></GetThingResponse>` + "\n"
	if rec.Code != 200 || rec.Body.String() != want || rec.Header().Get("Content-Type") != "text/xml" {
		t.Fatalf("%d %s\nwant %s", rec.Code, rec.Body, want)
	}
}
