/// Speaker failure detection: filled in by the membership work.
public enum Membership {}
