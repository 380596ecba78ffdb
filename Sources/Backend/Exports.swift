// Backend's own API takes Common's SeededGenerator (OpConformance draws its inputs from it), so
// whoever imports Backend sees Common too.
@_exported import Common
