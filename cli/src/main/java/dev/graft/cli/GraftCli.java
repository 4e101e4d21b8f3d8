package dev.graft.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code graft}: the command line. Each subcommand is one class in this package. */
@Command(name = "graft", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Transfer learning on images in pure Java: freeze a pretrained ResNet, train a new head, fine-tune.",
        subcommands = {
            TrainCommand.class,
            EvaluateCommand.class,
            PredictCommand.class,
            ExportCommand.class,
            ExplainCommand.class,
            DemoCommand.class,
            DoctorCommand.class,
            InspectCommand.class,
            ConvertCommand.class,
            ForwardCommand.class,
            BenchCommand.class,
            CommandLine.HelpCommand.class
        })
public final class GraftCli implements Runnable {

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs a command line and returns its exit code (tests call this instead of main). */
    public static int execute(String... args) {
        CommandLine cl = new CommandLine(new GraftCli());
        cl.setExecutionExceptionHandler(new ErrorHandler());
        return cl.execute(args);
    }
}
