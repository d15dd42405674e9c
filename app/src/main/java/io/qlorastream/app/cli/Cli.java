package io.qlorastream.app.cli;

import io.qlorastream.schemas.OneLine;
import picocli.CommandLine;
import picocli.CommandLine.IVersionProvider;

import java.io.PrintWriter;
import java.util.Map;

/** What every command shares: error handling (one line, exit 1 or 2) and layered option defaults. */
public final class Cli {
    /** Exit code of a command that failed at run time (bad file, port taken, broker down...). */
    public static final int EXIT_FAILURE = 1;
    /** Exit code of a command line that could not be parsed (unknown option, bad value); picocli's own. */
    public static final int EXIT_USAGE = CommandLine.ExitCode.USAGE;

    private Cli() {
    }

    public static CommandLine commandLine(Object root, String[] args, Map<String, String> env) {
        CommandLine cl = new CommandLine(root);
        cl.setDefaultValueProvider(LayeredDefaults.from(args, env));
        cl.setParameterExceptionHandler(Cli::onBadUsage);
        cl.setExecutionExceptionHandler(Cli::onFailure);
        return cl;
    }

    private static int onBadUsage(CommandLine.ParameterException ex, String[] args) {
        CommandLine cmd = ex.getCommandLine();
        String name = cmd.getCommandSpec().qualifiedName();
        cmd.getErr().println(name + ": " + ex.getMessage() + " (see '" + name + " --help')");
        cmd.getErr().flush();
        return EXIT_USAGE;
    }

    private static int onFailure(Exception ex, CommandLine cmd, CommandLine.ParseResult parseResult) {
        PrintWriter err = cmd.getErr();
        err.println(cmd.getCommandSpec().qualifiedName() + ": " + OneLine.of(ex));
        if (debug()) {
            ex.printStackTrace(err);
        }
        err.flush();
        return ex instanceof CommandLine.ParameterException ? EXIT_USAGE : EXIT_FAILURE;
    }

    private static boolean debug() {
        String v = System.getenv("QLORA_STREAM_DEBUG");
        return v != null && !v.isBlank() && !v.equals("0") && !v.equalsIgnoreCase("false");
    }

    /** The version from the jar's manifest, or "dev" when running from classes. */
    public static final class VersionProvider implements IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Cli.class.getPackage().getImplementationVersion();
            return new String[]{"qlora-stream " + (v == null ? "dev" : v)};
        }
    }
}
