package dev.graft.cli;

import picocli.CommandLine;
import dev.graft.train.DeviceNotes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** {@code graft}: the command line. Each subcommand is one class in this package. */
@Command(name = "graft", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Transfer learning on images in pure Java: freeze a pretrained ResNet, train a new head, fine-tune.",
        footer = {"",
            "Options can be read from a file: graft train @run.args reads one or more arguments per line from run.args "
                + "(quote arguments with spaces; # starts a comment), with any others given after it. Every command takes @FILE."},
        subcommands = {
            TrainCommand.class,
            LrFindCommand.class,
            EvaluateCommand.class,
            PredictCommand.class,
            ExportCommand.class,
            ExplainCommand.class,
            StudyCommand.class,
            DemoCommand.class,
            DoctorCommand.class,
            InspectCommand.class,
            ConvertCommand.class,
            QuantizeCommand.class,
            ForwardCommand.class,
            BenchCommand.class,
            ReuseCommand.class,
            CommandLine.HelpCommand.class
        })
public final class GraftCli implements Runnable {

    /** Global: given before or after the command name ({@code graft --verbose train}, {@code graft train --verbose}). */
    @Option(names = "--verbose", scope = ScopeType.INHERIT,
            description = "Say more: why each faster device was passed over (e.g. cuda unavailable: its jars are not on the class path).")
    void verbose(boolean on) {
        DeviceNotes.verbose(on);
    }

    @Override
    public void run() {
        commandLine().usage(System.out);
    }

    /** The command line with its help wrapped at spaces ({@link SpaceWrappingHelp}). */
    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new GraftCli());
        cl.setHelpFactory(SpaceWrappingHelp.FACTORY);
        return cl;
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs a command line and returns its exit code (tests call this instead of main). */
    public static int execute(String... args) {
        DeviceNotes.verbose(false); // per run: tests run many command lines in one JVM
        CommandLine cl = commandLine();
        cl.setExecutionExceptionHandler(new ErrorHandler());
        return cl.execute(args);
    }
}
