//! Builds a tilemap from a DGX-Pixels corner (Wang) set: `generate-autotile` + `deploy_asset`.
//!
//! A deployed set is two files in `assets/generated/`: `<name>.png`, the 4x4 atlas, and
//! `<name>.json`, its layout (`"type": "dgxp_autotile"`). The layout says how the atlas is
//! indexed: tile `i` sits at column `i % 4`, row `i / 4` (left to right, top to bottom,
//! which is how `TextureAtlasLayout::from_grid` numbers cells), and `i` is the corner
//! bitmask `NE*1 + SE*2 + SW*4 + NW*8`, where a bit is 1 when the upper terrain (say
//! water) sits at that corner. So a map is chosen as a grid of corner terrains, and each
//! cell takes the tile whose four corners they are: neighbours always agree on the
//! corners they share, and their edges continue into each other.

use bevy::prelude::*;
use serde::Deserialize;

/// Map size in tiles, and how much each tile is scaled up on screen.
const MAP_COLUMNS: u32 = 12;
const MAP_ROWS: u32 = 8;
const SCALE: f32 = 2.0;

/// Loads `assets/generated/<name>.json` and its atlas at start-up and lays out a map.
pub struct AutotilePlugin {
    /// The deployed asset name (`deploy_asset ... name`), without extension.
    pub name: String,
}

impl Plugin for AutotilePlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(AutotileName(self.name.clone()))
            .add_systems(Startup, spawn_autotile_map);
    }
}

#[derive(Resource)]
struct AutotileName(String);

/// The part of the layout JSON this module reads (the file carries more: each tile's
/// corners and pixel rectangle, the index formula in words).
#[derive(Deserialize)]
struct AutotileLayout {
    #[serde(rename = "type")]
    kind: String,
    tile_size: [u32; 2],
    columns: u32,
    rows: u32,
}

/// Marks the tiles of the map, e.g. for `bevy_brp_mcp` queries.
#[derive(Component)]
pub struct AutotileCell {
    /// Column and row in the map (row 0 at the top).
    pub cell: UVec2,
    /// The atlas index: the corner bitmask NE=1, SE=2, SW=4, NW=8.
    pub index: usize,
}

/// The tile index for a cell whose corners carry these terrains (true = upper).
pub fn corner_index(ne: bool, se: bool, sw: bool, nw: bool) -> usize {
    usize::from(ne) | usize::from(se) << 1 | usize::from(sw) << 2 | usize::from(nw) << 3
}

/// A small deterministic generator, so the example needs no `rand` crate.
fn corner_terrain(x: u32, y: u32) -> bool {
    let mut h = x.wrapping_mul(0x9E37_79B9) ^ y.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^= h >> 12;
    h & 1 == 1
}

fn read_layout(name: &str) -> Option<AutotileLayout> {
    let path = format!("{}/assets/generated/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) => {
            info!("no autotile set at {path} ({err}); deploy one with `deploy_asset`");
            return None;
        }
    };
    match serde_json::from_str::<AutotileLayout>(&text) {
        Ok(layout) if layout.kind == "dgxp_autotile" => Some(layout),
        Ok(layout) => {
            warn!("{path} is a {:?} file, not a dgxp_autotile layout", layout.kind);
            None
        }
        Err(err) => {
            warn!("{path} is not an autotile layout: {err}");
            None
        }
    }
}

fn spawn_autotile_map(
    mut commands: Commands,
    name: Res<AutotileName>,
    asset_server: Res<AssetServer>,
    mut layouts: ResMut<Assets<TextureAtlasLayout>>,
) {
    let Some(layout) = read_layout(&name.0) else {
        return;
    };
    let [width, height] = layout.tile_size;
    let grid = TextureAtlasLayout::from_grid(
        UVec2::new(width, height),
        layout.columns,
        layout.rows,
        None,
        None,
    );
    let atlas_layout = layouts.add(grid);
    let image: Handle<Image> = asset_server.load(format!("generated/{}.png", name.0));
    let step = Vec2::new(width as f32, height as f32) * SCALE;
    // Bottom-left of the window area, below the sprite grid of main.rs.
    let origin = Vec2::new(-(MAP_COLUMNS as f32) * step.x / 2.0, -step.y * MAP_ROWS as f32);
    for row in 0..MAP_ROWS {
        for column in 0..MAP_COLUMNS {
            // Corner (x, y) is the top-left corner of cell (x, y); y grows downwards.
            let index = corner_index(
                corner_terrain(column + 1, row),
                corner_terrain(column + 1, row + 1),
                corner_terrain(column, row + 1),
                corner_terrain(column, row),
            );
            let position = origin
                + Vec2::new(column as f32 + 0.5, (MAP_ROWS - row) as f32 - 0.5) * step;
            commands.spawn((
                AutotileCell { cell: UVec2::new(column, row), index },
                Sprite::from_atlas_image(
                    image.clone(),
                    TextureAtlas { layout: atlas_layout.clone(), index },
                ),
                Transform::from_translation(position.extend(-1.0))
                    .with_scale(Vec3::new(SCALE, SCALE, 1.0)),
            ));
        }
    }
    info!(
        "autotile map of {MAP_COLUMNS}x{MAP_ROWS} tiles from generated/{}.png",
        name.0
    );
}
