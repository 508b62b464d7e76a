import CEL
import Testing

@Suite struct TypeCheckTests {
    let f = Fixture()

    @Test func resultTypes() throws {
        #expect(try Program("1 + 2", declarations: f.decls).resultType == .int)
        #expect(try Program("[1, 2]", declarations: f.decls).resultType == .list(.int))
        #expect(try Program("[1, 'a']", declarations: f.decls).resultType == .list(.dyn))
        #expect(try Program("{'a': 1.5}", declarations: f.decls).resultType == .map(.string, .double))
        #expect(try Program("members", declarations: f.decls).resultType == .list(.object("Member")))
        #expect(try Program("members[0].age", declarations: f.decls).resultType == .int)
        #expect(try Program("members.map(m, m.employment)", declarations: f.decls).resultType == .list(.string))
        #expect(try Program("dyn(1)", declarations: f.decls).resultType == .dyn)
        #expect(CELType.map(.string, .list(.dyn)).description == "map(string, list(dyn))")
        #expect(CELType.null.description == "null_type")
    }

    @Test func unknownVariable() {
        let e = compileError("memebers.exists(m, m.age > 15)", f.decls)
        #expect(e?.message == "undeclared reference to 'memebers'")
        #expect(e?.line == 1)
        #expect(e?.column == 1)
        #expect(e?.hint == "did you mean 'members'?")
        #expect(compileError("zzz", f.decls)?.hint == nil)
    }

    @Test func unknownFieldWithDidYouMean() {
        let e = compileError("members.exists(m, m.agee >= 15)", f.decls)
        #expect(e?.message == "type 'Member' has no field 'agee'")
        #expect(e?.column == 21)
        #expect(e?.hint == "did you mean 'age'?")
        let p = compileError("h.id == 'x' &&\n  params.helth_insurance_min_age > 1", f.decls)
        #expect(p?.line == 2)
        #expect(p?.column == 10)
        #expect(p?.hint == "did you mean 'health_insurance_min_age'?")
        #expect(compileError("has(h.has_toilt)", f.decls)?.hint == "did you mean 'has_toilet'?")
    }

    @Test func wrongTypesOnFields() {
        let e = compileError("members.exists(m, m.employment > 3)", f.decls)
        #expect(e?.message == "no matching overload for '>' applied to (string, int)")
        #expect(e?.column == 32)
        #expect(compileError("h.province.size() + 'a'", f.decls)?.message == "no matching overload for '+' applied to (int, string)")
        #expect(compileError("h.id.age", f.decls)?.message == "type 'string' has no fields; cannot select 'age'")
        #expect(compileError("members.age", f.decls)?.message == "type 'list(Member)' has no fields; cannot select 'age'")
        #expect(compileError("h.income_per_capita.startsWith('1')", f.decls)?.message == "no matching overload for 'double.startsWith(string)'")
    }

    @Test func expectedResultType() {
        let e = compileError("h.score_a + 1", f.decls, expecting: .bool)
        #expect(e?.message == "expected bool, found int")
        #expect(e?.column == 1)
        #expect(compileError("h.score_a > 1", f.decls, expecting: .bool) == nil)
        #expect(compileError("dyn(1)", f.decls, expecting: .bool) == nil)
        #expect(compileError("[1]", f.decls, expecting: .list(.dyn)) == nil)
    }

    @Test func dynIsCheckedAtRunTime() {
        var d = Declarations()
        d.declareVariable("x", .dyn)
        #expect(compileError("x.anything > 'a' && x[1] + 1 == 2", d) == nil)
    }

    @Test func errorRendering() {
        let e = CELError("type 'Member' has no field 'agee'", line: 1, column: 22, hint: "did you mean 'age'?")
        #expect(e.description == "1:22: error: type 'Member' has no field 'agee'\n  hint: did you mean 'age'?")
        let d = e.diagnostic(file: "Rules/health.yaml", start: (12, 20))
        #expect(d.description == "Rules/health.yaml:12:41: error: type 'Member' has no field 'agee'\n  hint: did you mean 'age'?")
    }

    @Test func declarationsLookups() {
        #expect(f.decls.objectTypeID("Household") == 0)
        #expect(f.decls.objectTypeID("Member") == 1)
        #expect(f.decls.objectTypeID("Nope") == nil)
        #expect(f.decls.fieldIndex(type: "Member", field: "employment") == 3)
        #expect(f.decls.fieldIndex(type: "Member", field: "nope") == nil)
        var d = Declarations()
        #expect(d.declareVariable("a", .int) == 0)
        #expect(d.declareVariable("b", .int) == 1)
        #expect(d.declareVariable("a", .string) == 0)
    }

    /// The rule compiler appends each derived field to declarations it already built; the result
    /// must be what declaring the type afresh with the field gives (a repeated name keeps the
    /// index of its first field), and expressions must check the same against both.
    @Test func appendedFieldIsAsIfDeclaredWithTheType() {
        var appended = f.decls
        appended.appendField("poor_score", .int, toObjectType: "Household")
        appended.appendField("id", .int, toObjectType: "Household")
        appended.appendField("adult", .bool, toObjectType: "Member")
        appended.appendField("x", .int, toObjectType: "Nope")
        var fresh = f.decls
        for (type, extra) in [("Household", [("poor_score", CELType.int), ("id", .int)]), ("Member", [("adult", .bool)])] {
            let id = Int(fresh.objectTypeID(type)!)
            fresh.declareObjectType(ObjectTypeDecl(name: type, fields: fresh.objectTypes[id].fields + extra))
        }
        #expect(appended.objectTypes.map(\.name) == fresh.objectTypes.map(\.name))
        for (a, b) in zip(appended.objectTypes, fresh.objectTypes) {
            #expect(a.fields.map(\.name) == b.fields.map(\.name))
            #expect(a.fields.map(\.type) == b.fields.map(\.type))
        }
        for name in ["id", "poor_score", "score_a", "nope"] {
            #expect(appended.fieldIndex(type: "Household", field: name) == fresh.fieldIndex(type: "Household", field: name))
        }
        #expect(appended.fieldIndex(type: "Household", field: "poor_score") == 6)
        #expect(appended.fieldIndex(type: "Household", field: "id") == 0)
        #expect(appended.fieldIndex(type: "Member", field: "adult") == fresh.fieldIndex(type: "Member", field: "adult"))
        #expect(compileError("h.poor_score > 2 && h.members.exists(m, m.adult)", appended, expecting: .bool) == nil)
        #expect(compileError("h.id == 'H1'", appended, expecting: .bool) == nil)
    }
}
