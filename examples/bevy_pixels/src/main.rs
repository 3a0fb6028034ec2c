//! Shows every sprite in `assets/generated/` in a grid and reloads them live.
//!
//! DGX-Pixels' `deploy_asset` writes files atomically into `assets/generated/`; with the
//! `file_watcher` feature Bevy notices new files (the folder handle is reloaded, and the
//! grid rebuilt) and changed files (`AssetEvent::<Image>::Modified`; sprites keep their
//! handle, so they show the new pixels without any code). The remote protocol plugins let
//! `bevy_brp_mcp` query and drive the running game from the same AI agent.

mod animation;
mod autotile;

use bevy::asset::LoadedFolder;
use bevy::prelude::*;
use bevy::remote::RemotePlugin;
use bevy::remote::http::RemoteHttpPlugin;

/// Cell size of the grid, in world units (sprites are scaled to fit, nearest-neighbour).
const CELL: f32 = 128.0;
const COLUMNS: usize = 6;

/// Keeps the folder handle alive: dropping it would unload the folder and stop reloads.
#[derive(Resource)]
struct GeneratedFolder(Handle<LoadedFolder>);

/// Marks the sprites this app spawned for the folder, so a rebuild can replace them.
#[derive(Component)]
struct GeneratedSprite;

fn main() {
    App::new()
        .add_plugins(
            DefaultPlugins
                // Pixel art: no smoothing when sprites are scaled up.
                .set(ImagePlugin::default_nearest())
                // Watch assets/ even in release builds.
                .set(AssetPlugin {
                    watch_for_changes_override: Some(true),
                    ..default()
                })
                .set(WindowPlugin {
                    primary_window: Some(Window {
                        title: "DGX-Pixels: assets/generated".into(),
                        ..default()
                    }),
                    ..default()
                }),
        )
        // Bevy Remote Protocol on http://127.0.0.1:15702 for bevy_brp_mcp.
        .add_plugins((RemotePlugin::default(), RemoteHttpPlugin::default()))
        // A map from the corner tile set deployed as generated/autotile.{png,json}.
        .add_plugins(autotile::AutotilePlugin { name: "autotile".into() })
        // The walk sheet deployed as generated/walk.{png,json,bevy.json}; arrow keys turn it.
        .add_plugins(animation::WalkAnimationPlugin { name: "walk".into() })
        .add_systems(Startup, setup)
        .add_systems(Update, (rebuild_grid, log_reloads))
        .run();
}

fn setup(mut commands: Commands, asset_server: Res<AssetServer>) {
    commands.spawn(Camera2d);
    commands.insert_resource(GeneratedFolder(asset_server.load_folder("generated")));
}

/// (Re)builds the grid whenever the folder finished loading or changed (a new file).
fn rebuild_grid(
    mut commands: Commands,
    mut events: EventReader<AssetEvent<LoadedFolder>>,
    folder: Res<GeneratedFolder>,
    folders: Res<Assets<LoadedFolder>>,
    asset_server: Res<AssetServer>,
    existing: Query<Entity, With<GeneratedSprite>>,
) {
    // Read every event (not `any`, which would stop early and see the rest next frame).
    let changed = events
        .read()
        .filter(|event| {
            event.is_loaded_with_dependencies(folder.0.id()) || event.is_modified(folder.0.id())
        })
        .count()
        > 0;
    let Some(loaded) = folders.get(&folder.0) else {
        return;
    };
    if !changed {
        return;
    }
    for entity in &existing {
        commands.entity(entity).despawn();
    }
    // The folder also holds manifest.json and atlas JSON; keep only images.
    let images: Vec<Handle<Image>> = loaded
        .handles
        .iter()
        .filter_map(|handle| handle.clone().try_typed::<Image>().ok())
        .collect();
    let rows = images.len().div_ceil(COLUMNS).max(1);
    for (i, image) in images.into_iter().enumerate() {
        let (col, row) = ((i % COLUMNS) as f32, (i / COLUMNS) as f32);
        let x = (col - (COLUMNS as f32 - 1.0) / 2.0) * CELL;
        let y = ((rows as f32 - 1.0) / 2.0 - row) * CELL;
        let name = asset_server
            .get_path(image.id())
            .map_or_else(|| "generated sprite".to_string(), |path| path.to_string());
        commands.spawn((
            GeneratedSprite,
            Name::new(name),
            Sprite {
                image,
                custom_size: Some(Vec2::splat(CELL * 0.9)),
                ..default()
            },
            Transform::from_xyz(x, y, 0.0),
        ));
    }
    info!("showing {} generated sprite(s)", loaded.handles.len());
}

/// A redeployed file is reloaded in place; the sprite shows it with no extra work.
fn log_reloads(mut events: EventReader<AssetEvent<Image>>, asset_server: Res<AssetServer>) {
    for event in events.read() {
        if let AssetEvent::Modified { id } = event {
            if let Some(path) = asset_server.get_path(*id) {
                info!("reloaded {path}");
            }
        }
    }
}
