package entraschema_test

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/rosterhq/roster/internal/provision/entraschema"
)

// FuzzImport feeds schema text to Parse and Import. What imports must
// export and import again to the same mappings and filters.
func FuzzImport(f *testing.F) {
	if b, err := os.ReadFile(graphExample); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"synchronizationRules":[{"objectMappings":[{"sourceObjectName":"User","targetObjectName":"User","flowTypes":"Add",
	  "attributeMappings":[{"source":{"type":"Function","name":"Switch","parameters":[{"key":"source","value":{"type":"Attribute","name":"IsSoftDeleted"}},
	  {"key":"key1","value":{"type":"Constant","name":"True"}},{"key":"value1","value":{"type":"Constant","name":"False"}}]},"targetAttributeName":"active","defaultValue":"True"}],
	  "scope":{"groups":[{"clauses":[{"operatorName":"Includes","sourceOperandName":"c","targetOperand":{"values":["a","b"]}}]}]}}]}]}`))
	f.Add([]byte(`{"synchronizationRules":[{"objectMappings":[{"sourceObjectName":"Group","attributeMappings":[{"source":{"type":"Function","expression":"IIF([a] = \"x\", \"1\", \"2\")","name":"IIF","parameters":[]},"targetAttributeName":"displayName","matchingPriority":2}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := entraschema.Parse(data)
		if err != nil {
			return
		}
		im, err := entraschema.Import(s)
		if err != nil {
			return
		}
		j := jobWith(im)
		out, _ := entraschema.Export(j)
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatalf("marshal export: %v", err)
		}
		back, err := entraschema.Parse(b)
		if err != nil {
			t.Fatalf("Parse(export) refused %s: %v", b, err)
		}
		again, err := entraschema.Import(back)
		if err != nil {
			t.Fatalf("Import(export) refused %s: %v", b, err)
		}
		if im.HasUsers && (!reflect.DeepEqual(again.Users, im.Users) || !reflect.DeepEqual(again.UserFilters, im.UserFilters)) {
			t.Fatalf("users changed:\n got %+v %+v\nwant %+v %+v", again.Users, again.UserFilters, im.Users, im.UserFilters)
		}
		if im.HasGroups && (!reflect.DeepEqual(again.Groups, im.Groups) || !reflect.DeepEqual(again.GroupFilters, im.GroupFilters)) {
			t.Fatalf("groups changed:\n got %+v %+v\nwant %+v %+v", again.Groups, again.GroupFilters, im.Groups, im.GroupFilters)
		}
	})
}
