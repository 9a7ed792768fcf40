// The shared core (shard layouts, reduction plans, atomic files) is part of this library's vocabulary: a user who
// imports Reference gets it too.
@_exported import TreeCore
