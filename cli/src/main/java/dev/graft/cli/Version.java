package dev.graft.cli;

import picocli.CommandLine.IVersionProvider;

/** Version from the jar manifest (falls back to "development" when run from classes). */
final class Version implements IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = GraftCli.class.getPackage().getImplementationVersion();
        return new String[] {"graft " + (v == null ? "development build" : v) + ", Java " + Runtime.version()};
    }
}
