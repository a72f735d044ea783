#!/usr/bin/perl
# A stand-in for the xCAT commands the xcat site runs (lsdef, mkdef, chdef, rmdef, imgimport,
# nodeset, packimage), for tests: one script, linked under each name. State lives on disk under
# $XCAT_STANDIN_STATE (osimage/<name> and nodes/<name>: attr=value lines); every call appends its argv
# to argv.log as one JSON line. Files under fail/ make calls fail: fail/xcatd-down (every command),
# fail/permission-denied (every command), fail/<command> (that command, message = file content).
# The messages are xCAT's own, as printed by xcat2/xcat-core (quoted beside each one).
use strict;
use warnings;
use File::Basename qw(basename dirname);
use File::Copy qw(move);
use File::Path qw(mkpath rmtree);
use File::Temp qw(tempdir);
use JSON::PP;
use Cwd qw(getcwd);

my $cmd   = basename($0);
my $state = $ENV{XCAT_STANDIN_STATE} or die "XCAT_STANDIN_STATE is not set\n";
my $mn    = $ENV{XCAT_STANDIN_MN} || 'mn';

# xCAT's client wrappers read stdin; when it is left open they hang. Record whether it was closed.
my $stdin_open = 0;
{
    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm 3;
    eval { local $/; my $in = <STDIN>; alarm 0; 1 } or do { $stdin_open = 1 };
    alarm 0;
}
open(my $log, '>>', "$state/argv.log") or die "argv.log: $!";
print $log JSON::PP->new->canonical->encode({ cmd => $cmd, argv => [@ARGV], cwd => getcwd(), stdin_open => $stdin_open }), "\n";
close $log;

if (-e "$state/fail/xcatd-down") {
    # xCAT-client, xCAT/Client.pm: print "Unable to open socket connection to xcatd daemon on $xcathost.\n"; …
    print "Unable to open socket connection to xcatd daemon on localhost:3001.\n";
    print "Verify that the xcatd daemon is running and that your SSL setup is correct.\n";
    print STDERR "Connection failure: IO::Socket::INET: connect: Connection refused at /opt/xcat/lib/perl/xCAT/Client.pm line 248.\n";
    exit 1;
}
if (-e "$state/fail/permission-denied") {
    # xcatd refuses a request its policy table does not allow.
    print STDERR "Error: [$mn]: Permission denied for request.\n";
    exit 1;
}
if (-e "$state/fail/$cmd") {
    open(my $f, '<', "$state/fail/$cmd");
    my $msg = do { local $/; <$f> } || "$cmd failed";
    chomp $msg;
    print STDERR "Error: [$mn]: $msg\n";
    exit 1;
}

mkpath("$state/osimage");
mkpath("$state/nodes");

# Objects of type node live in nodes/, every other type (osimage) in osimage/.
sub objfile { my ($name, $type) = @_; return (($type // 'osimage') eq 'node' ? "$state/nodes/" : "$state/osimage/") . $name }

sub read_obj {
    my ($name, $type) = @_;
    open(my $f, '<', objfile($name, $type)) or return undef;
    my %a;
    while (<$f>) { chomp; my ($k, $v) = split(/=/, $_, 2); $a{$k} = $v if defined $v; }
    return \%a;
}

sub write_obj {
    my ($name, $attrs, $type) = @_;
    open(my $f, '>', objfile($name, $type)) or die "write $name: $!";
    print $f "$_=$attrs->{$_}\n" for sort keys %$attrs;
    close $f;
}

# Parse "-t osimage -o NAME attr=value …" (the forms the site uses).
sub parse_def_args {
    my (@args) = @_;
    my ($type, $name, $force, %attrs) = ('node', undef, 0);
    while (@args) {
        my $a = shift @args;
        if    ($a eq '-t') { $type = shift @args }
        elsif ($a eq '-o') { $name = shift @args }
        elsif ($a eq '-f') { $force = 1 }
        elsif ($a =~ /^([^=]+)=(.*)$/s) { $attrs{$1} = $2 }
        elsif (!defined $name) { $name = $a }
    }
    return ($type, $name, $force, \%attrs);
}

# `lsdef -t node -w attr==val [-w …] [-i a,b]` (DBobjectdefs.pm processArgs + defls): every node is
# read, those matching all -w clauses are shown as `Object name: n` and, with -i, each listed attr
# as `    attr=value` (shown even when unset). No node matches: nothing printed, exit 0. No node at
# all: processArgs' getObjectsOfType fails: "Could not get objects of type 'node'.", exit 1.
if ($cmd eq 'lsdef' && grep { $_ eq '-w' } @ARGV) {
    my ($type, @where, @show) = ('node');
    my @args = @ARGV;
    while (@args) {
        my $a = shift @args;
        if    ($a eq '-t') { $type = shift @args }
        elsif ($a eq '-w') { push @where, shift @args }
        elsif ($a eq '-i') { @show = split(/,/, shift @args) }
    }
    die "stand-in lsdef -w supports -t node only\n" unless $type eq 'node';
    opendir(my $d, "$state/nodes");
    my @nodes = sort grep { !/^\./ } readdir($d);
    unless (@nodes) {
        print STDERR "Error: [$mn]: Could not get objects of type 'node'.\n";
        exit 1;
    }
    for my $n (@nodes) {
        my $obj = read_obj($n, 'node') || {};
        my $match = 1;
        for my $w (@where) {
            # xCAT::Utils parse_selection_string: attr==val, attr!=val (attr=~re, attr!~re not needed here)
            my ($attr, $op, $val) = $w =~ /^([^=!~]+)(==|!=)(.*)$/ or die "stand-in lsdef: unsupported -w $w\n";
            my $have = $obj->{$attr} // '';
            $match = 0 if ($op eq '==' ? $have ne $val : $have eq $val);
        }
        next unless $match;
        print "Object name: $n\n";
        print "    $_=" . ($obj->{$_} // '') . "\n" for sort @show;
    }
    exit 0;
}

if ($cmd eq 'lsdef') {
    my ($type, $name) = parse_def_args(@ARGV);
    opendir(my $d, "$state/osimage");
    my @all = grep { !/^\./ } readdir($d);
    if (!@all) {
        # DBobjectdefs.pm defls: $rsp->{data}->[0] = "Could not find any object definitions to display."; (exit 0)
        print "Could not find any object definitions to display.\n";
        exit 0;
    }
    my $obj = read_obj($name);
    unless ($obj) {
        # DBobjectdefs.pm: "Could not find an object named '$obj' of type '$type'." then
        # "No object definitions have been found", exit 1
        print STDERR "Error: [$mn]: Could not find an object named '$name' of type '$type'.\n";
        print "No object definitions have been found\n";
        exit 1;
    }
    print "Object name: $name\n";
    print "    $_=$obj->{$_}\n" for sort keys %$obj;
    exit 0;
}

if ($cmd eq 'mkdef' || $cmd eq 'chdef') {
    my ($type, $name, $force, $attrs) = parse_def_args(@ARGV);
    if ($cmd eq 'mkdef' && -e objfile($name, $type) && !$force) {
        # DBobjectdefs.pm defmk: "A definition for '$obj' already exists." … "0 object definitions have been created or modified."
        print "Warning: [$mn]: A definition for '$name' already exists.\n";
        print STDERR "Error: [$mn]: 0 object definitions have been created or modified.\n";
        exit 1;
    }
    my $obj = ($cmd eq 'chdef' ? read_obj($name, $type) : undef) || {};
    $obj->{$_} = $attrs->{$_} for keys %$attrs;
    write_obj($name, $obj, $type);
    # DBobjectdefs.pm: "$nodenum object definitions have been created or modified."
    print "1 object definitions have been created or modified.\n";
    exit 0;
}

if ($cmd eq 'rmdef') {
    my ($type, $name) = parse_def_args(@ARGV);
    unless (-e objfile($name, $type)) {
        print STDERR "Error: [$mn]: Could not find an object named '$name' of type '$type'.\n";
        print STDERR "Error: [$mn]: 0 object definitions have been removed.\n";
        exit 1;
    }
    unlink objfile($name, $type);
    # DBobjectdefs.pm defrm: "$nodenum object definitions have been removed."
    print "1 object definitions have been removed.\n";
    exit 0;
}

if ($cmd eq 'imgimport') {
    # imgport.pm extract_bundle: unpacks into a temp dir in the current directory, reads each
    # <dir>/manifest.xml, defines the osimage, moves the files to the paths the manifest names.
    my $bundle = $ARGV[0];
    unless (-r $bundle) { print STDERR "Error: [$mn]: Cannot find $bundle\n"; exit 1; }
    my $tpath = tempdir("imgimport.$$.XXXXXX", DIR => getcwd());
    print "Unbundling image...\n";
    if (system('tar', 'zxf', $bundle, '-C', $tpath) != 0) {
        print STDERR "Error: [$mn]: Failed to extract bundle $bundle\n";
        exit 1;
    }
    my $rc = 0;
    # (imgport.pm globs "< $tpath/* >"; readdir here, so install roots with spaces work in tests)
    opendir(my $td, $tpath);
    my @imgdirs = map { "$tpath/$_" } sort grep { !/^\./ } readdir($td);
    for my $imgdir (@imgdirs) {
        unless (-r "$imgdir/manifest.xml") {
            print STDERR "Error: [$mn]: Failed to find manifest.xml file in image bundle\n";
            exit 1;
        }
        open(my $f, '<', "$imgdir/manifest.xml");
        my $xml = do { local $/; <$f> };
        my ($os) = $xml =~ m{<osimage>(.*?)</osimage>}s;
        my %o = defined $os ? ($os =~ m{<(\w+)>([^<]*)</\1>}g) : ();
        my ($li) = $xml =~ m{<linuximage>(.*?)</linuximage>}s;
        my %l = defined $li ? ($li =~ m{<(\w+)>([^<]*)</\1>}g) : ();
        for my $k (qw(imagename profile osvers osarch)) {
            unless ($o{$k}) { print STDERR "Error: [$mn]: The '$k' field is not defined in manifest.xml.\n"; exit 1; }
        }
        my $name = $o{imagename};
        write_obj($name, { %o, rootimgdir => ($l{rootimgdir} // ''), imagetype => 'linux' });
        delete $o{imagename};
        for my $k (qw(kernel ramdisk rootimg)) {
            my ($fn) = $xml =~ m{<$k>([^<]*)</$k>};
            next unless $fn;
            print "$fn\n";
            mkpath(dirname($fn)) unless -d dirname($fn);
            if (-r $fn) { print "  Moving old $fn to $fn.ORIG.\n"; move($fn, "$fn.ORIG"); }
            move("$imgdir/" . basename($fn), $fn) or $rc = 1;
        }
        print "Successfully imported the image $name.\n";
    }
    rmtree($tpath);
    exit $rc;
}

if ($cmd eq 'nodeset') {
    my ($noderange, @rest) = @ARGV;
    my ($osimage) = map { /^osimage=(.*)$/ ? $1 : () } @rest;
    my @nodes = split(/,/, $noderange);
    my @bad = grep { !-e "$state/nodes/$_" } @nodes;
    if (@bad) {
        # xCAT noderange: "Invalid nodes and/or groups in noderange: …"
        print STDERR "Error: [$mn]: Invalid nodes and/or groups in noderange: " . join(',', @bad) . "\n";
        exit 1;
    }
    my $obj = read_obj($osimage);
    unless ($obj) {
        print STDERR "Error: [$mn]: $_: Cannot find the OS image $osimage on the osimage table.\n" for @nodes;
        exit 1;
    }
    for my $n (@nodes) {
        # nodeset osimage=N sets the node's provmethod to N (nodetype table).
        my $node = read_obj($n, 'node') || {};
        $node->{provmethod} = $osimage;
        write_obj($n, $node, 'node');
        # destiny.pm: "$node: netboot $osvers-$osarch-$profile"
        print "$n: netboot $obj->{osvers}-$obj->{osarch}-$obj->{profile}\n";
    }
    exit 0;
}

if ($cmd eq 'packimage') {
    print "Packing contents of $ARGV[0]\n";
    exit 0;
}

print STDERR "$cmd: not a command this stand-in knows\n";
exit 127;
